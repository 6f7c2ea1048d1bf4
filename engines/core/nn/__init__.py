"""Networks shared by every paper: the UNet2D and its parts, and a small MLP for 2-D toys."""
from .unet import UNet2D, UNetConfig
from .mlp import MLPDenoiser, MLPConfig

ARCHS = {"UNet2D": (UNet2D, UNetConfig), "MLPDenoiser": (MLPDenoiser, MLPConfig)}

__all__ = ["UNet2D", "UNetConfig", "MLPDenoiser", "MLPConfig", "ARCHS"]
