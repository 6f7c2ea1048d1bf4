"""The diffusion playground: one Gradio app, one tab per paper (also the Hugging Face Spaces entry point).

`python app.py` serves on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (default 127.0.0.1:7860).
"""

from __future__ import annotations

import importlib
import os

# Nothing leaves the machine: no usage analytics (Gradio's default sends them), no hub lookups by the text encoder
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gradio as gr  # noqa: E402  (after the environment it reads at import)

from playground import compute, widgets
from playground.registry import ready_tabs

TITLE = "The diffusion playground"
TEXT_TABS = ("imagen", "ldm", "imagic")  # the tabs that read prompts through the frozen text encoder
INTRO = (
    "# The diffusion playground\n"
    "Landmark diffusion papers, each a small faithful version trained on two CPU cores, running live. "
    "Pick a tab, press the button, and watch noise turn into data step by step. "
    "Every tab's main action is also an API endpoint (see *Use via API* at the bottom) and a command line "
    "(`python -m engines --help`)."
)


# Small images (16x16 to 64x64) are shown enlarged: keep their pixels sharp instead of the browser's blur.
CSS = ".pixelated img { image-rendering: pixelated; width: 100% !important; height: 100% !important; object-fit: contain; }"


def build_demo() -> gr.Blocks:
    """One gr.Blocks with a tab per registry entry; models load lazily inside the events."""
    gr.set_static_paths([widgets.DOCS])  # the paper cards link to docs/<paper>.md; nothing else is served from disk
    with gr.Blocks(title=TITLE, delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for spec in ready_tabs():
                with gr.Tab(spec.title, id=spec.id):
                    importlib.import_module(f"playground.tabs.{spec.module}").build()
    # One heavy job at a time per slot; a bounded queue so a crowd gets "queue full" rather than a stalled machine.
    demo.queue(max_size=int(os.getenv("PLAYGROUND_QUEUE", "20")), default_concurrency_limit=2)
    return demo


def preload() -> None:
    """Load the frozen text encoder (5-10 s) while the page opens rather than inside the first prompt's wait."""
    if any(spec.id in TEXT_TABS for spec in ready_tabs()):
        from engines.core import text

        text.encode([""])


def main() -> None:
    # All PyTorch work on one thread, the tabs' initial figures included: the main thread gets no OpenMP team
    compute.start(int(os.getenv("CPU_CORES", os.cpu_count() or 2)))
    demo = compute.run(build_demo)
    compute.submit(preload)  # queued first: an early event waits for it on the same thread
    demo.launch(
        server_name=os.getenv("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.getenv("GRADIO_SERVER_PORT", "7860")),
        theme=gr.themes.Soft(),
        css=CSS,
        show_error=True,  # Gradio's own refusals (a file outside the upload folder) reach the visitor as text
        # sessions' state kept in memory: ~0.6 MB each (docs/fuzz.md), so at most ~300 MB, not Gradio's 10,000
        state_session_capacity=int(os.getenv("PLAYGROUND_SESSIONS", "500")),
    )


if __name__ == "__main__":
    main()
