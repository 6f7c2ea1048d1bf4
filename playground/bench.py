"""`python -m playground.bench`: the whole speed table, the engines' rows (`engines.bench`) and the app's.

The app's rows start the app in this process and measure, through gradio_client, the time from submitting a request
to receiving its first streamed frame: what a visitor waits for after the click.
"""

from __future__ import annotations

import os
import statistics
import time

import torch

from engines import bench

# The streaming API names timed from the click to their first frame, with their default arguments
STREAMING = (
    ("/ddpm_sample", ("digits", "DDIM", 50, 0.0, 0, 64)),
    ("/lion_sample", ("chair", 2.0, 25, 4, 0, "DDIM")),
    ("/tts_speak", ("Merge multiple sorted inputs into a single sorted output", 10, 1.5, 1.0, False, 0)),
    ("/dreamfusion_generate", ("a red ball", 400, 20.0, 0, "mix", True)),
    ("/video_generate", ("a red circle moving to the right", "distilled", 8, 5.0, 0)),
)


def first_frame(client, api_name: str, args: tuple, repeats: int = 3) -> tuple[float, float]:
    """(first request, median of the later ones): seconds from submitting api_name to its first streamed update."""
    lat = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        job = client.submit(*args, api_name=api_name)
        while not job.outputs() and not job.done():
            time.sleep(0.005)
        lat.append(time.perf_counter() - t0)
        job.result()
    return lat[0], statistics.median(lat[1:])


def app_rows() -> list[bench.Row]:
    """The first streamed frame of the app's streaming API names, the app served in this process."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    from app import build_demo

    demo = build_demo()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)
        names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
        out = []
        for api, args in STREAMING:
            if api in names:
                cold, warm = first_frame(client, api, args)
                out += [(f"App: first streamed frame of {api}, first request (loads the model)", "< 1 s", cold),
                        (f"App: first streamed frame of {api}, later requests", "< 1 s", warm)]
        return out
    finally:
        demo.close()


def main(argv: list[str] | None = None) -> None:
    p = bench.arguments("python -m playground.bench", __doc__)
    p.add_argument("--no-app", action="store_true", help="the engines' rows only (as python -m engines.bench)")
    a = p.parse_args(argv)
    if a.weights:
        print(bench.weights_table())
        return
    torch.set_num_threads(a.threads)
    print(bench.header(a.threads))
    bench.print_table([bench.rows] + ([] if a.no_app else [app_rows]))


if __name__ == "__main__":
    main()
