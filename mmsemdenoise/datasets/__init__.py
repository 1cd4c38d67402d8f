"""Datasets and transforms: clean-image folders for denoisers, CamVid for the task model.

Importing this package registers them in ``mmsemdenoise.registry.DATASETS``/``TRANSFORMS``.
"""
from .camvid import CamVidDataset
from .clean_image_folder import IMG_EXTENSIONS, CleanImageFolder
from .transforms import RandomRot90

__all__ = ['CamVidDataset', 'CleanImageFolder', 'IMG_EXTENSIONS', 'RandomRot90']
