"""LION tab: pick a category; watch the global latent z0 denoise (its decoded shape morphing), then the latent points
h0 (noise turning into a shape); the cloud and its mesh in 3-D viewers; shape variations and latent interpolation."""

from __future__ import annotations

import gradio as gr

from engines import lion
from engines.checks import unlabel
from engines.data import shapes3d
from engines.files import temp_path
from engines.pointviews import render, strip

from ..figures3d import cloud_figure
from ..widgets import HEAVY, Throttle, mesh_view, paper_card, upload_path, user_errors

SAMPLER_LABELS = {"DDIM": "ddim", "DDPM (ancestral)": "ddpm"}
STAGE_NAMES = {"z": "stage 1 of 2, the global latent z0 (its decoded shape)",
               "h": "stage 2 of 2, the latent points h0"}


def _frame_figure(f: lion.Frame):
    return cloud_figure(f.cloud()[0].numpy(), f"{STAGE_NAMES[f.stage]}: step {f.index + 1}/{f.total}, t = {f.t}",
                        "#e8590c" if f.stage == "z" else "#3b5bdb")


def _stream(frames, title: str):
    """Stream a LION generator's frames as figures (one a second), then its result as files and renders. Each
    streamed 3-D figure takes a WebGL context in the browser, which holds about 16: at 3 figures a second headless
    Chromium warned "Too many active WebGL contexts. Oldest context will be lost", at one a second it does not."""
    throttle = Throttle(1.0)
    for f in frames:
        if isinstance(f, lion.Shapes):
            out = f
            break
        if throttle(force=f.index == 0):
            yield "frame", _frame_figure(f), f"{STAGE_NAMES[f.stage]}: step {f.index + 1}/{f.total}"
    points = out.points.numpy()
    files = []
    for i, p in enumerate(points):
        yield "status", None, f"meshing shape {i + 1}/{len(points)} (marching cubes)"
        files.append([temp_path(item, f"lion_{i:03d}") for item in lion.files_for(p)])
    gallery = [(render(p, 200), f"{i}") for i, p in enumerate(points)]
    yield "done", (cloud_figure(points[0], title), files, gallery), ""


@user_errors
def lion_sample(category, guidance, steps, n, seed, sampler="DDIM"):
    """Stream both priors' steps, then the first cloud (PLY) and its mesh (GLB), renders of all, every file. Raw
    values (preprocess=False): the engine checks them."""
    r = lion.validate(category, n, steps, seed, guidance, unlabel(sampler, SAMPLER_LABELS))
    frames = lion.sample(r.category, r.n, r.steps, r.seed, r.guidance, r.sampler)
    for kind, value, status in _stream(frames, f"{r.category}, seed {r.seed}: x = Dec(h0, z0)"):
        if kind == "frame":
            yield value, gr.skip(), gr.skip(), gr.skip(), gr.skip(), status
        elif kind == "status":
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), status
        else:
            fig, files, gallery = value
            yield (fig, files[0][0], files[0][1], gallery, [p for pair in files for p in pair],
                   f"done: {r.n} {r.category}(s), {r.steps} {r.sampler.upper()} steps per prior, guidance "
                   f"{r.guidance:g}; the first one's cloud and mesh are in the viewers, all of them below")


@user_errors
def lion_vary(shape_file, t_frac, n, steps, seed):
    """Diffuse-denoise the shape in the point-cloud viewer: n variations at t = t_frac T, streamed."""
    points = lion.read_cloud(upload_path(shape_file))
    frames = lion.vary(points, t_frac, n, steps, seed)
    for kind, value, status in _stream(frames, f"variation 0, t = {t_frac} T"):
        if kind != "done":
            yield (value if kind == "frame" else gr.skip()), gr.skip(), status
        else:
            fig, _, gallery = value
            yield fig, [(render(points, 200), "source")] + gallery, (
                f"done: {len(gallery)} variations at t = {t_frac} T (small t keeps the shape, large t samples anew)")


@user_errors
def lion_interpolate(category, seed_a, seed_b, frames, steps, guidance):
    """A strip from seed A's sample to seed B's, by interpolating both priors' starting noises."""
    out = lion.interpolate(category, seed_a, seed_b, frames, steps, guidance)
    return strip(list(out.points.numpy()), 180), f"{len(out.points)} shapes from seed {seed_a} to seed {seed_b}"


def build() -> None:
    paper_card(
        "LION: Latent Point Diffusion Models for 3D Shape Generation",
        "Zeng, Vahdat, Williams, Gojcic, Litany, Fidler, Kreis · NeurIPS 2022",
        "https://arxiv.org/abs/2210.06978",
        "a hierarchical VAE encodes a cloud $x$ into a global shape latent $z_0$ and latent points "
        "$h_0 \\in \\mathbb{R}^{N\\times(3+1)}$; two latent DDMs learn $p(z_0)$ and $p(h_0 \\mid z_0)$; sampling is "
        "$z_0 \\sim$ DDM$_z$, $h_0 \\sim$ DDM$_h(\\cdot \\mid z_0)$, $x = \\mathrm{Dec}(h_0, z_0)$.",
        "ShapeNet airplane 1-NNA-CD 67.41% (50% is ideal), the best of its time; meshes by Shape As Points.",
        "2,048-point clouds of five procedural categories (chair, table, lamp, mug, airplane; DESIGN.md) instead of "
        "ShapeNet; one model conditioned on the category with classifier-free guidance instead of one per category; "
        "LION's PVCNNs replaced by per-point MLPs with FiLM (AdaGN) on z0, which run on 2 CPU cores; z0 has 64 "
        "numbers instead of 128; the priors are trained with v-prediction on a cosine schedule (the project's fast "
        "recipe) instead of eps on a linear one; meshes by marching cubes on the cloud's closed r-offset, "
        "shrink-wrapped onto the points (parts that do not touch joined by a strut), instead of Shape As Points.",
        doc="lion",
    )
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            category = gr.Radio(list(shapes3d.CATEGORIES), value="chair", label="Category")
            guidance = gr.Slider(0, lion.MAX_GUIDANCE, value=lion.GUIDANCE, step=0.5,
                                 label="Guidance scale s of DDM_z (0 = unconditional, 1 = conditional)")
            steps = gr.Slider(1, 250, value=25, step=1, label="Steps per prior")
            sampler = gr.Radio(list(SAMPLER_LABELS), value="DDIM", label="Sampler")
            with gr.Row():
                n = gr.Slider(1, lion.MAX_SHAPES, value=4, step=1, label="Shapes")
                seed = gr.Number(0, precision=0, label="Seed", minimum=0)
            with gr.Row():
                run = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop")
            status = gr.Markdown("Press Generate: first z0 denoises (orange), then the latent points (blue).")
        with gr.Column(scale=2):
            plot = gr.Plot(label="Denoising, live (drag to rotate)")
    with gr.Row():
        cloud = gr.Model3D(label="First shape: point cloud (PLY)", display_mode="point_cloud", height=360,
                           clear_color=(1, 1, 1, 1))
        mesh = gr.Model3D(label="Its mesh (GLB)", height=360, clear_color=(1, 1, 1, 1))
    gallery = gr.Gallery(label="All shapes", columns=8, height=240)
    files = gr.File(label="Every shape's PLY and GLB", file_count="multiple")
    ev = run.click(lion_sample, [category, guidance, steps, n, seed, sampler],
                   [plot, cloud, mesh, gallery, files, status], api_name="lion_sample", concurrency_id=HEAVY,
                   concurrency_limit=1, show_progress="minimal", preprocess=False)
    ev.success(mesh_view, files, mesh, api_visibility="private", show_progress="hidden")
    gr.Examples([["chair", 2.0, 25, 4, 0], ["airplane", 2.0, 25, 4, 1], ["lamp", 3.0, 50, 2, 2],
                 ["mug", 1.0, 25, 4, 3], ["table", 2.0, 10, 4, 4]],
                [category, guidance, steps, n, seed], label="Try these")
    with gr.Accordion("Shape variations: diffuse the first shape's latents to t, then denoise (LION Sec. 3.3)",
                      open=True):
        with gr.Row():
            t_frac = gr.Slider(0.05, 1.0, value=0.3, step=0.05, label="t / T (small: close to the source)")
            n_var = gr.Slider(1, lion.MAX_SHAPES, value=4, step=1, label="Variations")
            var_seed = gr.Number(0, precision=0, label="Seed", minimum=0)
            vary = gr.Button("Vary the shape in the point-cloud viewer")
        var_status = gr.Markdown()
        var_plot = gr.Plot(label="The first variation denoising")
        var_gallery = gr.Gallery(label="Source, then its variations", columns=8, height=240)
    ev_vary = vary.click(lion_vary, [cloud, t_frac, n_var, steps, var_seed], [var_plot, var_gallery, var_status],
                         api_name="lion_vary", concurrency_id=HEAVY, concurrency_limit=1, show_progress="minimal",
                         preprocess=False)
    with gr.Accordion("Latent interpolation: both priors' noises slerped from seed A to seed B", open=True):
        with gr.Row():
            seed_a = gr.Number(0, precision=0, label="Seed A", minimum=0)
            seed_b = gr.Number(1, precision=0, label="Seed B", minimum=0)
            n_frames = gr.Slider(2, 10, value=6, step=1, label="Shapes in the strip")
            interp = gr.Button("Interpolate")
        strip_img = gr.Image(label="From A to B", type="pil", format="png")
        interp_status = gr.Markdown()
    ev_interp = interp.click(lion_interpolate, [category, seed_a, seed_b, n_frames, steps, guidance],
                             [strip_img, interp_status], api_name="lion_interpolate", concurrency_id=HEAVY,
                             concurrency_limit=1, preprocess=False)
    stop.click(None, None, None, cancels=[ev, ev_vary, ev_interp])
