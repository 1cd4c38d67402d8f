"""What users call: models by zoo name (:func:`list_models`, :func:`get_model`), load a
denoiser, denoise large images in tiles, denoise photo files, export to ONNX; export a trained
cascade as the task model with the denoiser as its data preprocessor."""
from mmsemdenoise.models.denoisers.loading import fuse_batch_norms, load_denoiser, resolve_config
from .denoise_files import DenoiseReport, denoise_files, list_images
from .export import deployment_config, export_cascade
from .image_io import Photo, read_photo, write_photo
from .inference import DEFAULT_DENOISER, denoise_array, denoise_image, tiled_apply
from .model_zoo import get_model, list_models

__all__ = [
    'DEFAULT_DENOISER', 'DenoiseReport', 'Photo', 'denoise_array', 'denoise_files',
    'denoise_image', 'deployment_config', 'export_cascade', 'fuse_batch_norms', 'get_model',
    'list_images', 'list_models', 'load_denoiser', 'read_photo', 'resolve_config', 'tiled_apply',
    'write_photo'
]
