"""The app started as a new user starts it (`python app.py`), and every API name called through gradio_client."""

import os
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from conftest import ROOT, needs, needs_tab
from engines import palette
from engines.train import SHIPPED
from playground.registry import ready_tabs

API_NAMES = {
    "ddpm": {"/ddpm_sample"},
    "annotated": {"/annotated_forward", "/annotated_train", "/annotated_toy", "/annotated_schedules"},
    "guidance": {"/guidance_sample", "/guidance_sweep"},
    "sr3": {"/sr3_upscale"},
    "palette": {"/palette_restore"},
    "imagen": {"/imagen_generate"},
    "ldm": {"/ldm_generate"},
    "imagic": {"/imagic_edit"},
    "lion": {"/lion_sample", "/lion_vary", "/lion_interpolate"},
    "gradtts": {"/tts_speak"},
    "dreamfusion": {"/dreamfusion_generate"},
    "video": {"/video_generate"},
}


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_every_api_name_is_exposed(client):
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    for tab in ready_tabs():
        assert API_NAMES[tab.id] <= names, tab.id


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
    chart, samples, status = job.result()  # raises with the app's message if the job failed
    assert len(job.outputs()) >= 2  # streamed
    assert "done" in status and os.path.exists(samples) and chart["type"] == "plotly"


def test_bad_input_is_a_message_and_the_server_survives(client, tmp_path):
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    with pytest.raises(Exception, match="not an image|Invalid image|cannot identify"):
        client.predict(handle_file(str(bad)), "linear", 10, 1000, 0, api_name="/annotated_forward")
    with pytest.raises(Exception, match=r"greater than maximum|steps must be between 1 and 1000 \(a whole number\), got 5000"):
        client.predict("digits", "DDIM", 5000, 0.0, 0, 4, api_name="/ddpm_sample")
    assert client.predict(200, api_name="/annotated_schedules")[0]["type"] == "plotly"  # still serving


@needs("guided-shapes")
def test_guidance_sample_streams_and_judges(client):
    job = client.submit("green square", "classifier-free", 3.0, 6, 2, 0, api_name="/guidance_sample")
    assert len(list(job)) >= 2
    x_t, x0, status = job.result()
    assert os.path.exists(x_t) and "green square" in status and "right colour" in status


@needs("guided-shapes")
def test_guidance_sweep_reports_progress_from_the_compute_thread(client):
    job = client.submit("red circle", "classifier-free", 3, 2, 0, api_name="/guidance_sweep")
    gallery, chart = job.result()  # gr.Progress is driven from the compute thread (its context copied there)
    assert len(gallery) >= 3 and chart["type"] == "plotly"


@needs("guided-shapes")
def test_guidance_rejects_an_unknown_class(client):
    with pytest.raises(Exception, match="Value: pink circle is not in the list of choices|unknown class"):
        client.predict("pink circle", "classifier-free", 3.0, 5, 1, 0, api_name="/guidance_sample")


@needs("sr3-photos")
def test_sr3_upscale_with_a_known_original(client):
    job = client.submit(handle_file(str(ROOT / "examples" / "sr3_coffee_lr.png")), 4, 0, "ddpm", api_name="/sr3_upscale")
    lr, bic, out, orig, status = job.result()
    assert all(os.path.exists(p) for p in (lr, bic, out, orig)) and "consistency" in status and "bicubic" in status


@needs("palette-photos")
def test_palette_restore_each_task(client):
    editor = {"background": handle_file(str(ROOT / "examples" / "coffee.png")), "layers": [], "composite": None}
    for task, multitask in (("inpainting", False), ("uncropping", False), ("colorization", False), ("jpeg", False),
                            ("jpeg", True)):
        cond, samples, mean, original, status = client.predict(task, editor, "centre box", "left", 10, False, 3, 2,
                                                               0, multitask, api_name="/palette_restore")
        assert all(os.path.exists(p) for p in (cond, samples, mean, original)) and status.startswith("done"), task
        assert ("multi-task" in status) == (task != "jpeg" or multitask or palette.JPEG_MODEL not in SHIPPED), status


@needs("palette-photos")
def test_palette_painted_mask_missing_is_a_message(client):
    editor = {"background": handle_file(str(ROOT / "examples" / "coffee.png")), "layers": [], "composite": None}
    with pytest.raises(Exception, match="needs a mask"):
        client.predict("inpainting", editor, "painted (use the brush)", "left", 10, False, 3, 1, 0, False,
                       api_name="/palette_restore")


@needs_tab("imagen")
def test_imagen_generate_streams_both_stages(client):
    job = client.submit("a red circle on the left", 5.0, True, 0.95, 4, 3, 2, 0, api_name="/imagen_generate")
    updates = list(job)
    assert any("base stage" in u[-1] for u in updates) and any("sr stage" in u[-1] for u in updates)
    base, sr, compare, status = job.result()
    assert status.startswith("done") and all(os.path.exists(p) for p in (base, sr, compare))


@needs_tab("ldm")
def test_ldm_generate_and_compare(client):
    latents, images, status = client.predict("a blue square at the top", 5.0, 4, 2, 0, api_name="/ldm_generate")
    assert status.startswith("done") and os.path.exists(latents) and os.path.exists(images)
    lat, pix, text = client.predict("a blue square at the top", 5.0, 4, 1, 0, api_name="/ldm_compare")
    assert "faster in latent space" in text and os.path.exists(pix)


@needs_tab("imagic")
def test_imagic_edit_streams_its_stages(client):
    job = client.submit(handle_file(str(ROOT / "examples" / "imagic_yellow_square.png")), "a green square", 1.0, 0, True,
                        api_name="/imagic_edit")
    for update in job:
        if "stage A" in str(update[2]):
            break
    job.cancel()
    with pytest.raises(Exception, match="type the target text"):
        client.predict(handle_file(str(ROOT / "examples" / "imagic_yellow_square.png")), "", 1.0, 0, True,
                       api_name="/imagic_edit")


@needs_tab("lion")
def test_lion_sample_vary_and_interpolate(client):
    job = client.submit("table", 2.0, 6, 2, 0, "DDIM", api_name="/lion_sample")
    updates = list(job)
    assert any("stage 1 of 2" in str(u[-1]) for u in updates) and any("stage 2 of 2" in str(u[-1]) for u in updates)
    plot, ply, glb, gallery, files, status = job.result()
    assert status.startswith("done") and ply.endswith(".ply") and glb.endswith(".glb") and len(files) == 4
    assert plot["type"] == "plotly" and len(gallery) == 2
    fig, variations, text = client.predict(handle_file(ply), 0.3, 2, 6, 0, api_name="/lion_vary")
    assert text.startswith("done") and len(variations) == 3  # the source, then two variations
    strip, text = client.predict("table", 0, 1, 3, 6, 2.0, api_name="/lion_interpolate")
    assert os.path.exists(strip) and "3 shapes" in text
    with pytest.raises(Exception, match="unknown category"):
        client.predict("sofa", 2.0, 6, 1, 0, "DDIM", api_name="/lion_sample")


def test_each_paper_card_links_to_its_docs_page_and_nothing_else_is_served(app_url):
    """Each shown tab's card links to docs/<tab>.md, which the app serves; the app's own source it refuses."""
    import re
    import urllib.error
    import urllib.request

    page = urllib.request.urlopen(app_url + "config").read().decode()
    for tab in ready_tabs():
        links = re.findall(r"\((gradio_api/file=[^)\s]*?/docs/" + tab.id + r"\.md)\)", page)
        assert links, f"the {tab.id} card links to no docs/{tab.id}.md"
        body = urllib.request.urlopen(app_url + links[0]).read().decode()
        assert body.startswith("# "), tab.id
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(app_url + "gradio_api/file=" + str(ROOT / "app.py"))


@needs_tab("gradtts")
def test_tts_speak_streams_the_mel_then_returns_sounds_and_the_alignment(client):
    job = client.submit("Return the popped value", 4, 1.5, 1.0, False, 0, api_name="/tts_speak")
    outs = list(job)
    mel, mu, align, audio, audio_mu, audio_ref, text = job.result()
    assert len(outs) >= 2 and text.startswith("done:") and "4 ODE steps" in text
    for a in (audio, audio_mu, audio_ref):
        assert a and Path(a).stat().st_size > 20_000  # WAVs of about a second or more
    with pytest.raises(Exception, match="type something to say"):
        client.predict("", 4, 1.5, 1.0, False, 0, api_name="/tts_speak")
    ddim = client.predict("Return the popped value", 4, 1.5, 1.0, False, 0, "DDIM (the core's, on X_t - mu)",
                          api_name="/tts_speak")
    assert "4 ODE steps (ddim)" in ddim[-1]
    with pytest.raises(Exception, match="DPM-Solver\\+\\+ is deterministic"):
        client.predict("Return the popped value", 4, 1.5, 1.0, True, 0, "DPM-Solver++ 2M (the core's)", api_name="/tts_speak")


@needs_tab("dreamfusion")
def test_dreamfusion_streams_views_then_returns_a_mesh_a_turntable_and_the_priors_samples(client):
    job = client.submit("a blue cube", 30, 20.0, 0, "mix", True, api_name="/dreamfusion_generate")
    outs = list(job)
    live, grad, files, video, views, prior, text = job.result()
    assert len(outs) >= 3 and text.startswith("done:") and "30 iterations" in text
    assert sorted(Path(f).suffix for f in files) == [".glb", ".mp4"] and Path(views).stat().st_size > 1000
    import trimesh

    mesh = trimesh.load(next(f for f in files if f.endswith(".glb")), force="mesh")
    assert len(mesh.faces) > 100 and mesh.visual.vertex_colors is not None
    with pytest.raises(Exception, match="names no object"):
        client.predict("a blue dragon", 30, 20.0, 0, "mix", True, api_name="/dreamfusion_generate")


@needs_tab("video")
def test_video_streams_every_stage_then_returns_the_clip_as_mp4_and_gif(client):
    import imageio.v2 as imageio

    job = client.submit("a blue square moving up", "distilled", 4, 5.0, 0, api_name="/video_generate")
    outs = list(job)
    base, tsr, ssr, mp4, gif, text = job.result()
    assert len(outs) >= 4 and text.startswith("done:") and "distilled 4-step base" in text
    for stage in ("base", "temporal SR", "spatial SR"):
        assert f"{stage} " in text
    path = mp4["video"] if isinstance(mp4, dict) else mp4
    assert imageio.get_reader(path).count_frames() == 16 and Path(gif).suffix == ".gif"
    teacher = client.predict("a blue square moving up", "teacher", 3, 5.0, 0, api_name="/video_generate")
    assert "the teacher, 3 steps at guidance 5" in teacher[-1]
    with pytest.raises(Exception, match="must say where the shape goes"):
        client.predict("a blue square", "distilled", 8, 5.0, 0, api_name="/video_generate")
    with pytest.raises(Exception, match="steps must be 8, 4, 2 for the distilled base"):
        client.predict("a blue square moving up", "distilled", 16, 5.0, 0, api_name="/video_generate")
