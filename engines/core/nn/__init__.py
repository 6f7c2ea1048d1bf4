"""Networks shared by every paper: the UNet2D and its parts, a noise-aware classifier, a small MLP for 2-D toys,
point networks (a point VAE and latent denoisers), and Grad-TTS's text encoder with its mel decoder, and the space-time video U-Net."""

from .autoencoder import Autoencoder, AutoencoderConfig
from .classifier import ClassifierConfig, NoisyClassifier
from .mlp import MLPConfig, MLPDenoiser
from .points import (
    PointDenoiser,
    PointDenoiserConfig,
    PointVAE,
    PointVAEConfig,
    VectorDenoiser,
    VectorDenoiserConfig,
)
from .tts import GradTTS, GradTTSConfig
from .unet import UNet2D, UNetConfig
from .unet3d import UNet3D, UNet3DConfig

ARCHS = {
    "UNet2D": (UNet2D, UNetConfig),
    "MLPDenoiser": (MLPDenoiser, MLPConfig),
    "NoisyClassifier": (NoisyClassifier, ClassifierConfig),
    "Autoencoder": (Autoencoder, AutoencoderConfig),
    "PointVAE": (PointVAE, PointVAEConfig),
    "VectorDenoiser": (VectorDenoiser, VectorDenoiserConfig),
    "PointDenoiser": (PointDenoiser, PointDenoiserConfig),
    "GradTTS": (GradTTS, GradTTSConfig),
    "UNet3D": (UNet3D, UNet3DConfig),
}

__all__ = [
    "UNet2D",
    "UNetConfig",
    "MLPDenoiser",
    "MLPConfig",
    "NoisyClassifier",
    "ClassifierConfig",
    "Autoencoder",
    "AutoencoderConfig",
    "PointVAE",
    "PointVAEConfig",
    "VectorDenoiser",
    "VectorDenoiserConfig",
    "PointDenoiser",
    "PointDenoiserConfig",
    "GradTTS",
    "GradTTSConfig",
    "UNet3D",
    "UNet3DConfig",
    "ARCHS",
]
