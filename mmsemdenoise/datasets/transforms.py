"""Data transforms that mmcv, mmseg and mmpretrain lack.

The rest of a denoiser's training pipeline is upstream (the ``mmsemdenoise`` scope falls through
to mmengine's root registry, where mmcv's transforms live)::

    train_pipeline = [
        dict(type='LoadImageFromFile'),                       # mmcv: uint8 BGR (H, W, 3)
        dict(type='mmpretrain.RandomCrop', crop_size=50,      # pads (reflect) images smaller
             pad_if_needed=True, padding_mode='reflect'),     # than the patch
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),  # mmcv
        dict(type='RandomRot90'),                             # with the flip: all 8 D4 modes
        dict(type='mmpretrain.PackInputs',                    # inputs: uint8 (3, H, W) BGR
             meta_keys=('img_path', 'img_id', 'ori_shape', 'img_shape')),
    ]
"""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmsemdenoise.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRot90(BaseTransform):
    """Rotate the image (and segmentation maps) counter-clockwise by ``k * 90`` degrees.

    ``k`` is drawn uniformly from {0, 1, 2, 3} with ``np.random`` (seeded by mmengine per
    worker), or fixed by ``k``. Followed or preceded by a horizontal ``RandomFlip`` with
    ``prob=0.5``, every one of the 8 rotations/reflections of the square is equally likely:
    the augmentation of DnCNN (Zhang et al., TIP 2017, cszn/DnCNN ``data_augmentation``).
    Exact (no interpolation); non-square images swap height and width for odd ``k``.

    Required Keys:

    - img (np.ndarray): (H, W) or (H, W, C), any dtype.

    Modified Keys:

    - img: rotated, C-contiguous.
    - img_shape: (H', W') after rotation.
    - every key listed in ``seg_fields`` (e.g. ``gt_seg_map``), rotated the same way.

    Added Keys:

    - rot90_k (int): the ``k`` used.

    Args:
        k (int, optional): Fixed number of quarter turns (any integer; taken mod 4).
            Defaults to None, which draws ``k`` per sample.
    """

    def __init__(self, k: Optional[int] = None) -> None:
        if k is not None and not isinstance(k, (int, np.integer)):
            raise TypeError(f'RandomRot90: k must be an int or None, got {type(k).__name__}')
        self.k = None if k is None else int(k) % 4

    @cache_randomness
    def _draw_k(self) -> int:
        """Draw the number of quarter turns.

        Returns:
            int: ``self.k`` if fixed, else a uniform draw from {0, 1, 2, 3}.
        """
        return self.k if self.k is not None else int(np.random.randint(4))

    def transform(self, results: dict) -> dict:
        """Rotate ``results['img']`` and its segmentation maps.

        Args:
            results (dict): Result dict with ``img`` of shape (H, W) or (H, W, C).

        Returns:
            dict: The same dict, rotated, with ``img_shape`` and ``rot90_k`` set.
        """
        k = self._draw_k()
        results['img'] = np.ascontiguousarray(np.rot90(results['img'], k))
        for key in results.get('seg_fields', []):
            results[key] = np.ascontiguousarray(np.rot90(results[key], k))
        results['img_shape'] = results['img'].shape[:2]
        results['rot90_k'] = k
        return results

    def __repr__(self) -> str:
        """Return the transform's name and arguments."""
        return f'{self.__class__.__name__}(k={self.k})'
