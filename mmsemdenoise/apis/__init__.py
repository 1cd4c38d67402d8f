"""Inference helpers used by the tools: load a denoiser, denoise large images in tiles, denoise
photo files, export to ONNX; export a trained cascade as the task model with the denoiser as its
data preprocessor."""
from .denoise_files import DenoiseReport, denoise_files, list_images
from .export import deployment_config, export_cascade
from .image_io import Photo, read_photo, write_photo
from .inference import (DEFAULT_DENOISER, denoise_array, denoise_image, fuse_batch_norms,
                        load_denoiser, resolve_config, tiled_apply)

__all__ = [
    'DEFAULT_DENOISER', 'DenoiseReport', 'Photo', 'denoise_array', 'denoise_files',
    'denoise_image', 'deployment_config', 'export_cascade', 'fuse_batch_norms', 'list_images',
    'load_denoiser', 'read_photo', 'resolve_config', 'tiled_apply', 'write_photo'
]
