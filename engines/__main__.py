"""`python -m engines <engine> ... --out DIR`: run any engine from the command line.

Every engine writes its results as DIR/000.<ext>, DIR/001.<ext>, ... (PNG images, PLY point clouds, GLB meshes,
WAV sounds, MP4 videos; plus engine-specific extras such as grid.png).
`python -m engines <engine> --help` documents each one.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from PIL import Image

from .files import extension, save_all
from .images import grid

ENGINES = {
    "ddpm": ("ddpm", "DDPM (Ho et al. 2020): unconditional samples of digits or shapes"),
    "annotated": ("annotated_cli", "The Annotated Diffusion Model: the forward process on an image, or the 2-D toy"),
    "guidance": ("guidance", "Classifier / classifier-free guidance (2021-22): shapes of a chosen class"),
    "sr3": ("sr3", "SR3 (Saharia et al. 2021): 4x super-resolution of a photo"),
    "palette": ("palette", "Palette (Saharia et al. 2022): colorization, inpainting, uncropping, JPEG restoration"),
    "imagen": ("imagen", "Imagen (Saharia et al. 2022): text -> 32x32 base -> 64x64 super-resolution"),
    "ldm": ("ldm", "Latent Diffusion (Rombach et al. 2022): text -> 16x16x4 latents -> 64x64 decoded"),
    "imagic": ("imagic", "Imagic (Kawar et al. 2023): edit one image with a target text"),
    "lion": ("lion", "LION (Zeng et al. 2022): 3-D point clouds and their meshes, by latent point diffusion"),
    "tts": ("gradtts", "Grad-TTS (Popov et al. 2021): speech from text by a score-based mel decoder"),
    "dreamfusion": ("dreamfusion", "DreamFusion (Poole et al. 2022): text to a 3-D mesh by score distillation"),
    "video": ("video", "Imagen Video (Ho et al. 2022): text -> 16 frames at 32x32 by a cascade of video models"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="engine", required=True, metavar="<engine>")
    for name, (module, help_) in ENGINES.items():
        mod = importlib.import_module(f".{module}", __package__)
        p = sub.add_parser(
            name,
            help=help_,
            description=f"{help_}.\n\n{(mod.__doc__ or '').strip()}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.cli_args(p)
        p.add_argument("--out", required=True, type=Path, help="folder for the results (created if missing)")
        p.set_defaults(_mod=mod)
    a = parser.parse_args(argv)
    try:
        result = a._mod.cli_main(a)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    items, extras = result if isinstance(result, tuple) else (result, {})
    if len(items) > 1 and all(isinstance(im, Image.Image) for im in items):
        extras = {"grid.png": grid(items, upscale=max(1, 64 // items[0].size[0])), **extras}
    n = save_all(items, a.out, extras)
    kinds = sorted({extension(p) for item in items for p in (item if isinstance(item, tuple) else (item,))})
    print(f"wrote {n} result(s) ({', '.join(kinds) or 'nothing'}) to {a.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
