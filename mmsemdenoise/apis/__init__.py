"""Inference helpers used by the tools: load a denoiser, denoise large images in tiles."""
from .inference import denoise_image, load_denoiser, tiled_apply

__all__ = ['denoise_image', 'load_denoiser', 'tiled_apply']
