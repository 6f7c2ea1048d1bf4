"""The app started as a new user starts it (`python app.py`), and every API name called through gradio_client."""

import os

import pytest
from conftest import ROOT
from gradio_client import Client, handle_file

API_NAMES = {"/ddpm_sample", "/annotated_forward", "/annotated_train", "/annotated_toy", "/annotated_schedules"}


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_every_api_name_is_exposed(client):
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert API_NAMES <= names


def test_ddpm_sample_streams_then_returns_grid_strip_and_gif(client):
    job = client.submit("digits", "DDIM", 12, 0.0, 0, 4, api_name="/ddpm_sample")
    updates = list(job)
    assert len(updates) >= 2
    x_t, x0, chart, status, final, strip, gif = job.result()
    assert status.startswith("done") and os.path.exists(final) and os.path.exists(strip)
    assert gif.endswith(".gif") and os.path.getsize(gif) > 1000
    assert chart["type"] == "plotly"


def test_annotated_forward_takes_an_upload(client):
    x_t, strip, text = client.predict(
        handle_file(str(ROOT / "examples" / "coffee.png")), "cosine", 500, 1000, 0, api_name="/annotated_forward"
    )
    assert os.path.exists(x_t) and os.path.exists(strip) and "999" in text


def test_annotated_toy_and_schedules(client):
    figs = list(client.submit("moons", "ddim", 10, 300, 0, True, api_name="/annotated_toy"))
    assert figs and figs[-1]["type"] == "plotly"
    a, b = client.predict(200, api_name="/annotated_schedules")
    assert a["type"] == "plotly" and b["type"] == "plotly"


def test_annotated_train_streams_loss_and_samples(client):
    job = client.submit(5, "huber", "linear", 0, api_name="/annotated_train")
    assert len(list(job)) >= 2  # streamed
    chart, samples, status = job.result()
    assert "done" in status and os.path.exists(samples) and chart["type"] == "plotly"


def test_bad_input_is_a_message_and_the_server_survives(client, tmp_path):
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    with pytest.raises(Exception, match="not an image|Invalid image|cannot identify"):
        client.predict(handle_file(str(bad)), "linear", 10, 1000, 0, api_name="/annotated_forward")
    with pytest.raises(Exception, match="greater than maximum"):
        client.predict("digits", "DDIM", 5000, 0.0, 0, 4, api_name="/ddpm_sample")
    assert client.predict(200, api_name="/annotated_schedules")[0]["type"] == "plotly"  # still serving
