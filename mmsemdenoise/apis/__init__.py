"""Inference helpers used by the tools: load a denoiser, denoise large images in tiles; export a
trained cascade as the task model with the denoiser as its data preprocessor."""
from .export import deployment_config, export_cascade
from .inference import denoise_image, load_denoiser, tiled_apply

__all__ = ['denoise_image', 'deployment_config', 'export_cascade', 'load_denoiser',
           'tiled_apply']
