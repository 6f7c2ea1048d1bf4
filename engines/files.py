"""Results that are files, for every engine: images (PNG), point clouds (PLY), meshes (GLB), sounds (WAV) and videos
(MP4, GIF, or an MP4 with its frames as PNGs). Each knows its extension and how to save itself, as a PIL image does, so the command line writes item i as
DIR/<i:03d>.<ext> whatever its kind, and a tab saves the same object to a temporary path for gr.Model3D / gr.Audio /
gr.Video."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import trimesh
from PIL import Image


class Result(Protocol):
    """Anything with .save(path); its extension is .ext (a PIL image: 'png')."""

    def save(self, path: Path | str) -> Any: ...


def extension(item: Result) -> str:
    """The file extension an item is written with: its .ext, or 'png' for a PIL image."""
    if isinstance(item, Image.Image):
        return "png"
    return item.ext


@dataclass(frozen=True)
class PointCloudFile:
    """A point cloud (N, 3), optionally coloured (N, 3) uint8, written as binary PLY."""

    points: np.ndarray
    colors: np.ndarray | None = None
    ext: str = "ply"

    def save(self, path: Path | str) -> Path:
        rgba = None
        if self.colors is not None:
            rgba = np.c_[self.colors, np.full(len(self.colors), 255)].astype(np.uint8)
        trimesh.PointCloud(np.asarray(self.points, dtype=np.float32), colors=rgba).export(str(path))
        return Path(path)


@dataclass(frozen=True)
class MeshFile:
    """A triangle mesh (vertex colours kept) written as GLB (binary glTF)."""

    mesh: trimesh.Trimesh
    ext: str = "glb"

    def save(self, path: Path | str) -> Path:
        self.mesh.export(str(path), file_type=self.ext)
        return Path(path)


@dataclass(frozen=True)
class WavFile:
    """A mono sound in [-1, 1] at `rate` Hz, written as 16-bit PCM WAV."""

    samples: np.ndarray
    rate: int
    ext: str = "wav"

    def pcm16(self) -> np.ndarray:
        return (np.clip(np.asarray(self.samples, dtype=np.float32), -1, 1) * 32767).round().astype(np.int16)

    def save(self, path: Path | str) -> Path:
        import wave

        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(int(self.rate))
            w.writeframes(self.pcm16().tobytes())
        return Path(path)


@dataclass(frozen=True)
class VideoFile:
    """Frames (N, H, W, 3) uint8 at `fps`, written as H.264 MP4 (yuv420p, which every browser plays) by imageio's
    ffmpeg (the binary inside the imageio-ffmpeg wheel)."""

    frames: np.ndarray
    fps: int = 12
    ext: str = "mp4"

    def save(self, path: Path | str) -> Path:
        import imageio.v2 as imageio

        with imageio.get_writer(str(path), format="FFMPEG", fps=self.fps, codec="libx264", pixelformat="yuv420p",
                                macro_block_size=16, ffmpeg_log_level="error") as w:
            for frame in np.asarray(self.frames, dtype=np.uint8):
                w.append_data(frame)
        return Path(path)


@dataclass(frozen=True)
class GifFile:
    """Frames (N, H, W, 3) uint8 as a looping GIF (Pillow), the animation a tab shows beside an MP4."""

    frames: np.ndarray
    fps: int = 12
    ext: str = "gif"

    def save(self, path: Path | str) -> Path:
        ims = [Image.fromarray(f) for f in np.asarray(self.frames, dtype=np.uint8)]
        ims[0].save(str(path), save_all=True, append_images=ims[1:], duration=round(1000 / self.fps), loop=0)
        return Path(path)


@dataclass(frozen=True)
class ClipFile:
    """A video and its frames: <path>.mp4, and <path without .mp4>/00.png, 01.png, ... at the frames' own size."""

    video: VideoFile
    frames: np.ndarray  # (N, H, W, 3) uint8
    ext: str = "mp4"

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        self.video.save(path)
        folder = path.with_suffix("")
        folder.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(np.asarray(self.frames, dtype=np.uint8)):
            Image.fromarray(f).save(folder / f"{i:02d}.png")
        return path


def save_all(items: list[Result | tuple[Result, ...]], out: Path, extras: dict[str, Result] | None = None) -> int:
    """Write item i as out/<i:03d>.<ext> (an item may be a tuple of files of different kinds: 000.ply and 000.glb),
    and each extra under its own name; returns the number of items."""
    out.mkdir(parents=True, exist_ok=True)
    for i, item in enumerate(items):
        for part in item if isinstance(item, tuple) else (item,):
            part.save(out / f"{i:03d}.{extension(part)}")
    for name, item in (extras or {}).items():
        item.save(out / name)
    return len(items)


def temp_path(item: Result, prefix: str = "result") -> str:
    """Save an item to a new temporary file of its kind and return the path (what Gradio's file components take)."""
    with tempfile.NamedTemporaryFile(prefix=f"{prefix}_", suffix=f".{extension(item)}", delete=False) as f:
        path = f.name
    item.save(path)
    return path
