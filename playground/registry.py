"""The tab registry: app.py builds one tab per entry, in this order. Later papers add a line here."""

from __future__ import annotations

from dataclasses import dataclass

from engines.train import SHIPPED


@dataclass(frozen=True)
class TabSpec:
    id: str
    title: str
    module: str  # playground.tabs.<module>, which offers build()
    models: tuple[str, ...] = ()  # the trained weights the tab needs

    @property
    def ready(self) -> bool:
        """Shown only when every model it needs is shipped (engines.train.SHIPPED)."""
        return set(self.models) <= set(SHIPPED)


# Titles are the papers' short names: at 1,400 pixels the eleven tabs fit one row only so (with "Annotated
# Diffusion", "LION (3-D)" and "Grad-TTS (speech)", the eleventh tab went into Gradio's overflow menu)
TABS: tuple[TabSpec, ...] = (
    TabSpec("ddpm", "DDPM", "ddpm", ("ddpm-digits", "ddpm-shapes")),
    TabSpec("annotated", "Annotated", "annotated", ("toy-moons", "toy-swissroll")),
    TabSpec("guidance", "Guidance", "guidance", ("guided-shapes", "classifier-shapes")),
    TabSpec("sr3", "SR3", "sr3", ("sr3-photos",)),
    TabSpec("palette", "Palette", "palette", ("palette-photos",)),
    TabSpec("imagen", "Imagen", "imagen", ("imagen-base", "imagen-sr")),
    # the Latent Diffusion tab times itself against pixel-space generation: the Imagen cascade
    TabSpec("ldm", "Latent Diffusion", "ldm", ("ldm-autoencoder", "ldm-text", "imagen-base", "imagen-sr")),
    TabSpec("imagic", "Imagic", "imagic", ("imagen-base", "imagen-sr")),
    TabSpec("lion", "LION", "lion", ("lion-vae", "lion-prior-z", "lion-prior-h")),
    TabSpec("gradtts", "Grad-TTS", "gradtts", ("gradtts-espeak",)),
    TabSpec("dreamfusion", "DreamFusion", "dreamfusion", ("dreamfusion-prior",)),
    TabSpec("video", "Imagen Video", "video",
            ("video-base", "video-tsr", "video-ssr", "video-base-8", "video-base-4", "video-base-2")),
)


def ready_tabs() -> tuple[TabSpec, ...]:
    """The tabs app.py builds: those whose weights are shipped."""
    return tuple(t for t in TABS if t.ready)
