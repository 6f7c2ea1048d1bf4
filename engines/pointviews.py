"""Point clouds drawn as pictures (for strips, galleries and the command line): an orthographic view from a camera
at a given azimuth and elevation, nearer points drawn over farther ones and shaded by depth."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .images import grid


def rotation(azim_deg: float, elev_deg: float) -> np.ndarray:
    """The rotation that turns the world so the camera, at azimuth / elevation (degrees), looks down -z."""
    a, e = np.deg2rad(azim_deg), np.deg2rad(elev_deg)
    ry = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
    return rx @ ry


def render(
    points: np.ndarray,
    size: int = 160,
    azim: float = 35.0,
    elev: float = 20.0,
    colors: np.ndarray | None = None,
    extent: float = 1.05,
) -> Image.Image:
    """A size x size RGB view of a cloud (N, 3) inside the sphere of radius `extent`; colors (N, 3) uint8 or None
    (blue, darker with depth). Each point is a 2 x 2 pixel dot."""
    p = np.asarray(points, dtype=np.float64) @ rotation(azim, elev).T
    u = np.clip(((p[:, 0] / extent) * 0.5 + 0.5) * (size - 2), 0, size - 2).astype(int)
    v = np.clip((0.5 - (p[:, 1] / extent) * 0.5) * (size - 2), 0, size - 2).astype(int)
    depth = (p[:, 2] / extent + 1) / 2  # 0 far, 1 near
    if colors is None:
        colors = np.stack([40 + 100 * (1 - depth), 70 + 110 * (1 - depth), 200 + 40 * depth], 1)
    shade = (0.55 + 0.45 * depth)[:, None]
    rgb = np.clip(np.asarray(colors, dtype=np.float64) * shade, 0, 255).astype(np.uint8)
    img = np.full((size, size, 3), 255, np.uint8)
    order = np.argsort(depth)  # far first, near drawn over
    for du in (0, 1):
        for dv in (0, 1):
            img[v[order] + dv, u[order] + du] = rgb[order]
    return Image.fromarray(img)


def strip(clouds: list[np.ndarray] | np.ndarray, size: int = 160, **kw) -> Image.Image:
    """Several clouds side by side, one view each."""
    return grid([render(c, size, **kw) for c in clouds], cols=len(clouds), pad=2)


def turnaround(points: np.ndarray, size: int = 160, views: int = 4, elev: float = 20.0) -> Image.Image:
    """One cloud from `views` azimuths evenly around it."""
    return grid([render(points, size, azim=35 + 360 * k / views, elev=elev) for k in range(views)], cols=views, pad=2)
