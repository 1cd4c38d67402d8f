"""Datasets and transforms: clean-image folders for denoisers, CamVid for the task model.

Importing this package registers them in ``mmsemdenoise.registry.DATASETS``/``TRANSFORMS``. Both
datasets check their files when built (:mod:`.verify`).
"""
from .camvid import CamVidDataset
from .clean_image_folder import IMG_EXTENSIONS, CleanImageFolder
from .transforms import LoadImageFromCache, RandomRot90
from .verify import BadFilesError, VerifiedFilesMixin, check_image, skipped_files

__all__ = [
    'BadFilesError', 'CamVidDataset', 'CleanImageFolder', 'IMG_EXTENSIONS', 'LoadImageFromCache',
    'RandomRot90', 'VerifiedFilesMixin', 'check_image', 'skipped_files'
]
