"""Natural photos shipped inside scikit-image and scikit-learn (and, where installed, matplotlib and mahotas), split
into training and held-out sets, and random crops of them for the image-to-image models (SR3, Palette). Nothing is
downloaded."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import installed, package_file

# Colour photos and grey textures bundled in the wheels; grey ones are used as 3 equal channels.
TRAIN = (
    "astronaut",
    "chelsea",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "china",
    "brick",
    "grass",
    "gravel",
    "camera",
    "coins",
    "moon",
)
HELD_OUT = ("coffee", "flower")  # never seen in training: the examples and the quality checks use these
# Photos inside other wheels (requirements-dev.txt installs them), never trained on: the unseen-photo checks
# (engines.unseen_photos) use them with HELD_OUT. Each is (package, path inside it); the package is located, not
# imported.
EXTERNAL = {
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
    "department_store": ("mahotas", "demos/data/DepartmentStore.jpg"),
    "luispedro": ("mahotas", "demos/data/luispedro.jpg"),
}
# Palette's colour photos: the grey textures above would teach colorization that grey is a right answer (6 of the 13
# photos are grey; the chroma augmentation cannot colour them), so Palette trains on the colour ones, plus the left
# view of the stereo motorcycle pair, which skimage ships.
COLOUR_TRAIN = tuple(n for n in TRAIN if n not in ("brick", "grass", "gravel", "camera", "coins", "moon")) + (
    "motorcycle_left",
)


@lru_cache(maxsize=32)
def load_photo(name: str) -> np.ndarray:
    """(H, W, 3) uint8 of a bundled photo."""
    if name in EXTERNAL:
        return _external(*EXTERNAL[name])
    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    import skimage.data

    if name == "motorcycle_left":
        return np.ascontiguousarray(skimage.data.stereo_motorcycle()[0])
    a = getattr(skimage.data, name)()
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return np.ascontiguousarray(a[..., :3]).astype(np.uint8)


def _external(package: str, rel: str) -> np.ndarray:
    """A photo inside another installed package's folder, read with Pillow."""
    from PIL import Image

    return np.asarray(Image.open(package_file(package, rel)).convert("RGB"), dtype=np.uint8)


def available(names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of the named photos this install can load (the external ones need their packages)."""
    return tuple(n for n in names if n not in EXTERNAL or installed(EXTERNAL[n][0]))


@lru_cache(maxsize=4)
def _pyramid(names: tuple[str, ...]) -> list[Tensor]:
    """Each photo at full, half and quarter resolution, as (3, H, W) floats in [-1, 1] (so crops vary in scale)."""
    out = []
    for n in names:
        x = torch.from_numpy(load_photo(n).copy()).permute(2, 0, 1).float()[None] / 127.5 - 1
        for s in (1.0, 0.5, 0.25):
            y = x if s == 1 else F.interpolate(x, scale_factor=s, mode="area")
            if min(y.shape[-2:]) >= 96:
                out.append(y[0])
    return out


def random_crops(n: int, size: int, gen: torch.Generator, names: tuple[str, ...] = TRAIN) -> Tensor:
    """n random size x size crops, randomly flipped and rotated by multiples of 90 degrees: (n, 3, size, size)."""
    pyr = _pyramid(names)
    crops = []
    for _ in range(n):
        img = pyr[int(torch.randint(len(pyr), (1,), generator=gen))]
        _, H, W = img.shape
        y = int(torch.randint(H - size + 1, (1,), generator=gen))
        x = int(torch.randint(W - size + 1, (1,), generator=gen))
        c = img[:, y : y + size, x : x + size]
        if torch.rand(1, generator=gen) < 0.5:
            c = c.flip(-1)
        crops.append(torch.rot90(c, int(torch.randint(4, (1,), generator=gen)), dims=(1, 2)))
    return torch.stack(crops)


def crop_batches(batch_size: int, size: int, names: tuple[str, ...] = TRAIN):
    """A batch function for the training loop: fn(step, generator) -> (batch_size, 3, size, size)."""

    def fn(step: int, gen: torch.Generator) -> Tensor:
        return random_crops(batch_size, size, gen, names)

    return fn


def held_out_crops(n: int, size: int, seed: int = 0) -> Tensor:
    """Crops of the held-out photos, for quality checks on images the models never saw."""
    return random_crops(n, size, torch.Generator().manual_seed(seed), HELD_OUT)
