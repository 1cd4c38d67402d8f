"""Data transforms that mmcv, mmseg and mmpretrain lack.

The rest of a denoiser's training pipeline is upstream (the ``mmsemdenoise`` scope falls through
to mmengine's root registry, where mmcv's transforms live)::

    train_pipeline = [
        dict(type='LoadImageFromCache', copy=False),          # uint8 BGR (H, W, 3) decoded once
                                                              # by CleanImageFolder(cache_images=
                                                              # True); or mmcv's LoadImageFromFile
        dict(type='mmpretrain.RandomCrop', crop_size=50,      # pads (reflect) images smaller
             pad_if_needed=True, padding_mode='reflect'),     # than the patch
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),  # mmcv
        dict(type='RandomRot90'),                             # with the flip: all 8 D4 modes
        dict(type='mmpretrain.PackInputs',                    # inputs: uint8 (3, H, W) BGR
             meta_keys=('img_path', 'img_id', 'ori_shape', 'img_shape')),
    ]
"""
import logging
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmcv.transforms.utils import cache_randomness
from mmengine.logging import print_log

from mmsemdenoise.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageFromCache(LoadImageFromFile):
    """Take the image that the dataset decoded once (``results['cached_img']``), not the file.

    :class:`~mmsemdenoise.datasets.CleanImageFolder` with ``cache_images=True`` decodes every
    image when it is built and hands each sample a read-only view of it; this transform sets
    the keys mmcv's ``LoadImageFromFile`` sets, with the same values (the cache is decoded with
    its defaults: OpenCV, ``'color'``). Without ``cached_img`` (a dataset without the cache)
    it decodes the file as ``LoadImageFromFile`` does, with one logged warning per process, or
    raises (``missing='error'``).

    Required Keys:

    - cached_img (np.ndarray): uint8 (H, W, 3) BGR, read-only; or img_path (str) to decode.

    Added Keys:

    - img (np.ndarray): uint8 (H, W, 3) BGR, 0..255 (float32 with ``to_float32``).
    - img_shape (tuple[int, int]): (H, W).
    - ori_shape (tuple[int, int]): (H, W).

    Removed Keys:

    - cached_img.

    Args:
        copy (bool): Whether ``img`` is a writable copy of the cached image. With False it is
            the read-only view itself (no copy of the whole image per sample): numpy raises
            on any in-place write, and the next transforms must make the patch a new array
            before it leaves the pipeline (mmpretrain's ``RandomCrop`` and :class:`RandomRot90`
            in the training configs do: the crop is a view, the rotation copies it).
            Defaults to True.
        missing (str): Without ``cached_img``: ``'decode'`` the file (``LoadImageFromFile``)
            or ``'error'`` (``KeyError``). Defaults to 'decode'.
        to_float32 (bool): Return float32 (0..255) instead of uint8. Defaults to False.
        backend_args (dict, optional): File backend arguments for ``missing='decode'``.
            Defaults to None.
    """

    MISSING = ('decode', 'error')

    def __init__(self,
                 copy: bool = True,
                 missing: str = 'decode',
                 to_float32: bool = False,
                 backend_args: Optional[dict] = None) -> None:
        if missing not in self.MISSING:
            raise ValueError(f'LoadImageFromCache: missing must be one of {self.MISSING}, '
                             f'got {missing!r}')
        super().__init__(to_float32=to_float32, backend_args=backend_args)
        self.copy, self.missing = bool(copy), missing
        self._warned = False

    def transform(self, results: dict) -> Optional[dict]:
        """Set ``img``, ``img_shape`` and ``ori_shape`` from ``cached_img`` (or the file).

        Args:
            results (dict): Result dict with ``cached_img`` or ``img_path``.

        Returns:
            dict: The same dict with ``img``, ``img_shape`` and ``ori_shape``.
        """
        img = results.pop('cached_img', None)
        if img is None:
            path = results.get('img_path')
            if self.missing == 'error':
                raise KeyError(f"LoadImageFromCache: no 'cached_img' for {path!r}: build the "
                               'dataset with CleanImageFolder(cache_images=True), or load '
                               "with LoadImageFromFile (or pass missing='decode')")
            if not self._warned:
                self._warned = True
                print_log(f"LoadImageFromCache: no 'cached_img' for {path!r}: decoding the "
                          'file for every sample (set cache_images=True in CleanImageFolder '
                          'to decode each image once)', logger='current', level=logging.WARNING)
            return super().transform(results)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"LoadImageFromCache: 'cached_img' of {results.get('img_path')!r} "
                             f'must be uint8 (H, W, 3), got {img.dtype} {img.shape}')
        if self.to_float32:
            img = img.astype(np.float32)
        elif self.copy:
            img = img.copy()
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        """Return the transform's name and arguments."""
        return (f'{self.__class__.__name__}(copy={self.copy}, missing={self.missing!r}, '
                f'to_float32={self.to_float32}, backend_args={self.backend_args})')


def _contiguous_writable(array: np.ndarray) -> np.ndarray:
    """``array`` if it is C-contiguous and writable, else a copy that is."""
    array = np.ascontiguousarray(array)
    return array if array.flags.writeable else array.copy()


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

    - img: rotated, C-contiguous and writable: a read-only input (a view of a dataset's image
      cache, see :class:`LoadImageFromCache`) comes out as a copy, also for ``k = 0``.
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
        results['img'] = _contiguous_writable(np.rot90(results['img'], k))
        for key in results.get('seg_fields', []):
            results[key] = _contiguous_writable(np.rot90(results[key], k))
        results['img_shape'] = results['img'].shape[:2]
        results['rot90_k'] = k
        return results

    def __repr__(self) -> str:
        """Return the transform's name and arguments."""
        return f'{self.__class__.__name__}(k={self.k})'
