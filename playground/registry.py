"""The tab registry: app.py builds one tab per entry, in this order. Later papers add a line here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TabSpec:
    id: str
    title: str
    module: str  # playground.tabs.<module>, which offers build()


TABS: tuple[TabSpec, ...] = (
    TabSpec("ddpm", "DDPM", "ddpm"),
    TabSpec("annotated", "Annotated Diffusion", "annotated"),
    TabSpec("guidance", "Guidance", "guidance"),
    TabSpec("sr3", "SR3", "sr3"),
    TabSpec("palette", "Palette", "palette"),
)
