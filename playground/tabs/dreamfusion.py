"""DreamFusion tab: type "a red cube"; watch a voxel grid take shape under Score Distillation Sampling from four
views, with the SDS gradient the prior sends back; then the mesh (GLB) in a 3-D viewer, a turntable, eight views,
and the same prior sampled directly for the prompt (what SDS's mode seeking makes of it)."""

from __future__ import annotations

import gradio as gr
from PIL import Image

from engines import checks
from engines import dreamfusion as df
from engines.data.objects3d import OBJECTS
from engines.data.shapes import COLOURS
from engines.files import MeshFile, temp_path
from engines.images import grid, to_pil

from ..widgets import HEAVY, Throttle, mesh_view, paper_card, user_errors

SHADING_LABELS = {"random, as the paper (albedo / lambertian / textureless)": "mix", "albedo": "albedo",
                  "lambertian": "lambertian", "textureless": "textureless"}
EXAMPLES = [[p, df.ITERS, df.GUIDANCE, i] for i, p in
            enumerate(["a red ball", "a blue cube", "a yellow cone", "a green ring", "a purple cylinder"])]


def _strip(images, scale: int = 4) -> Image.Image:
    """A row of (3, H, W) images in [0, 1], each scaled up (nearest) by `scale`."""
    pil = [to_pil(x * 2 - 1) for x in images]
    return grid(pil, upscale=scale, cols=len(pil))


@user_errors
def dreamfusion_generate(prompt, iters, guidance, seed, shading="random, as the paper (albedo / lambertian / "
                         "textureless)", view_prompts=True):
    """Stream four views of the grid and the SDS gradient every few iterations; then the mesh, the turntable, the
    eight views of the GLB and the prior's own samples for the prompt."""
    sh = checks.unlabel(shading, SHADING_LABELS)  # anything but a label goes to the engine's check
    throttle = Throttle(0.5)
    res = None
    for s in df.generate(prompt, iters, guidance, seed, sh, view_prompts):
        if isinstance(s, df.Result):
            res = s
            break
        if throttle(force=s.index == 0):
            yield (_strip(s.views), _strip([s.grad]), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                   f"iteration {s.index + 1}/{s.total}: t = {s.t}, the camera's view '{s.view}'")
    yield (gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), "meshing (marching cubes) and rendering")
    m, views, video = df.outputs(res)
    prior = df.prior_samples(res.request.prompt, res.request.guidance, "front", 4, 50, res.request.seed)
    files = [temp_path(MeshFile(m.mesh), "dreamfusion"), temp_path(video, "dreamfusion")]
    yield (_strip(df.views(res.field())), gr.skip(), files, files[1], grid(views, cols=8), _strip(prior),
           f"done: '{res.request.prompt}', {res.request.iters} iterations at guidance {res.request.guidance:g}; "
           f"mesh of {len(m.mesh.faces):,} faces ({m.floaters:.0%} of the surface in floaters before cleaning)")


def build() -> None:
    paper_card(
        "DreamFusion: Text-to-3D using 2D Diffusion",
        "Poole, Jain, Barron, Mildenhall · ICLR 2023",
        "https://arxiv.org/abs/2209.14988",
        "Score Distillation Sampling: $\\nabla_\\theta \\mathcal L_{SDS} = \\mathbb E_{t,\\epsilon}\\big[w(t)"
        "(\\hat\\epsilon_\\phi(\\alpha_t x + \\sigma_t\\epsilon; y, t) - \\epsilon)\\,\\partial x/\\partial\\theta\\big]$"
        " with $x = g(\\theta)$ a render of the 3-D field from a random camera, no gradient through the U-Net.",
        "CLIP R-Precision 79.7% on object-centric COCO prompts (Dream Fields 68.3%), from Imagen's 64x64 base; "
        "1.5 hours on 4 TPU chips per prompt.",
        "a 2.1M-parameter 32x32 text-and-view prior trained on renders of five coloured objects (DESIGN.md) instead "
        "of Imagen; a 32^3 voxel grid of density and albedo instead of a Mip-NeRF 360 MLP; 32x32 renders; seconds "
        "on 2 CPU cores instead of hours on TPUs; meshes by marching cubes.",
        doc="dreamfusion",
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            prompt = gr.Textbox("a red ball", label="Prompt", info=f"a colour ({', '.join(COLOURS)}) and an object "
                                f"({', '.join(OBJECTS)})")
            iters = gr.Slider(50, df.MAX_ITERS, value=df.ITERS, step=50, label="SDS iterations")
            guidance = gr.Slider(1, df.MAX_GUIDANCE, value=df.GUIDANCE, step=1,
                                 label="Guidance scale (the paper: 100; a small prior saturates sooner)")
            seed = gr.Number(0, precision=0, label="Seed", minimum=0)
            shading = gr.Radio(list(SHADING_LABELS), value=list(SHADING_LABELS)[0], label="Shading while optimising")
            view_prompts = gr.Checkbox(True, label="View-dependent prompts (', front view', ', side view', ...)")
            with gr.Row():
                run = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop")
            status = gr.Markdown("Press Generate: the grid starts as a faint blob and takes shape under SDS.")
            gr.Examples(EXAMPLES, [prompt, iters, guidance, seed], label="Try these")
        with gr.Column(scale=2):
            live = gr.Image(label="Views at azimuth 0, 90, 180, 270 (live)", type="pil", format="png")
            grad = gr.Image(label="SDS gradient w(t) (eps_hat - eps) of the last render", type="pil", format="png",
                            height=160)
            with gr.Row():
                mesh = gr.Model3D(label="Mesh (GLB, vertex colours)", height=320, clear_color=(1, 1, 1, 1))
                video = gr.Video(label="Turntable (MP4)", height=320, autoplay=True, loop=True)
    views = gr.Image(label="Eight views of the mesh", type="pil", format="png")
    files = gr.File(label="The mesh (GLB) and the turntable (MP4)", file_count="multiple")
    prior = gr.Image(label="The prior sampled directly for the same prompt, ', front view' (DDIM 50 steps)",
                     type="pil", format="png")
    ev = run.click(dreamfusion_generate, [prompt, iters, guidance, seed, shading, view_prompts],
                   [live, grad, files, video, views, prior, status], api_name="dreamfusion_generate",
                   concurrency_id=HEAVY, concurrency_limit=1, show_progress="minimal", preprocess=False)
    ev.success(mesh_view, files, mesh, api_visibility="private", show_progress="hidden")
    stop.click(None, None, None, cancels=[ev])
