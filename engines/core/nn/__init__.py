"""Networks shared by every paper: the UNet2D and its parts, a noise-aware classifier, a small MLP for 2-D toys."""

from .classifier import ClassifierConfig, NoisyClassifier
from .mlp import MLPConfig, MLPDenoiser
from .unet import UNet2D, UNetConfig

ARCHS = {
    "UNet2D": (UNet2D, UNetConfig),
    "MLPDenoiser": (MLPDenoiser, MLPConfig),
    "NoisyClassifier": (NoisyClassifier, ClassifierConfig),
}

__all__ = ["UNet2D", "UNetConfig", "MLPDenoiser", "MLPConfig", "NoisyClassifier", "ClassifierConfig", "ARCHS"]
