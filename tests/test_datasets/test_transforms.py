"""Tests for :class:`RandomRot90` and the upstream transforms a denoiser pipeline uses."""
from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope
from mmengine.structures import BaseDataElement

from mmsemdenoise.datasets import RandomRot90
from mmsemdenoise.registry import DATASETS, TRANSFORMS

PATCH = 8

#: The denoiser training pipeline recommended in ``mmsemdenoise/datasets/transforms.py``.
TRAIN_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.RandomCrop', crop_size=PATCH, pad_if_needed=True,
         padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRot90'),
    dict(type='mmpretrain.PackInputs', meta_keys=('img_path', 'img_id', 'ori_shape', 'img_shape')),
]


def _image(height: int, width: int) -> np.ndarray:
    """A uint8 (H, W, 3) image whose pixels are all different."""
    return np.arange(height * width * 3, dtype=np.int64).reshape(height, width, 3).astype(np.uint8)


def test_rot90_fixed_k_matches_numpy_and_rotates_seg_maps() -> None:
    img = _image(3, 5)
    seg = np.arange(15, dtype=np.uint8).reshape(3, 5)
    results = RandomRot90(k=1)(dict(img=img.copy(), gt_seg_map=seg.copy(),
                                     seg_fields=['gt_seg_map']))
    assert results['img'].shape == (5, 3, 3) and results['img'].dtype == np.uint8
    assert results['img_shape'] == (5, 3)
    assert results['rot90_k'] == 1
    assert results['img'].flags.c_contiguous
    np.testing.assert_array_equal(results['img'], np.rot90(img))
    np.testing.assert_array_equal(results['gt_seg_map'], np.rot90(seg))
    assert RandomRot90(k=-3).k == 1  # taken mod 4


def test_rot90_bad_k() -> None:
    with pytest.raises(TypeError, match='k must be an int'):
        RandomRot90(k=1.5)


def test_rot90_draws_every_k_and_is_seeded() -> None:
    rot = RandomRot90()

    def draws(seed: int) -> List[int]:
        np.random.seed(seed)
        return [rot(dict(img=_image(2, 2)))['rot90_k'] for _ in range(40)]

    assert draws(0) == draws(0)
    assert set(draws(0)) == {0, 1, 2, 3}


def test_flip_and_rot90_cover_the_eight_square_symmetries() -> None:
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        pipeline = Compose([dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                            dict(type='RandomRot90')])
    np.random.seed(0)
    outputs = {pipeline(dict(img=_image(2, 2)))['img'].tobytes() for _ in range(200)}
    assert len(outputs) == 8


def test_registered_in_scope() -> None:
    assert TRANSFORMS.get('RandomRot90') is RandomRot90


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / 'clean'
    folder.mkdir()
    assert cv2.imwrite(str(folder / 'big.png'), _image(12, 10))
    assert cv2.imwrite(str(folder / 'small.png'), _image(5, 6))  # smaller than the patch
    return folder


def _build(folder: Path):
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        return DATASETS.build(
            dict(type='CleanImageFolder', data_root=str(folder.parent),
                 data_prefix=dict(img_path=folder.name), pipeline=TRAIN_PIPELINE))


def test_recommended_pipeline_packs_uint8_patches(image_folder: Path) -> None:
    dataset = _build(image_folder)
    for index, (name, ori_shape) in enumerate([('big.png', (12, 10)), ('small.png', (5, 6))]):
        sample = dataset[index]
        inputs, data_sample = sample['inputs'], sample['data_samples']
        assert isinstance(inputs, torch.Tensor)
        assert inputs.shape == (3, PATCH, PATCH) and inputs.dtype == torch.uint8
        assert isinstance(data_sample, BaseDataElement)
        assert data_sample.img_id == f'clean/{name}'
        assert data_sample.img_path == str(image_folder / name)
        assert data_sample.ori_shape == ori_shape


def test_recommended_pipeline_keeps_bgr_pixels(image_folder: Path) -> None:
    dataset = _build(image_folder)
    np.random.seed(0)
    sample = dataset[0]
    values = {pixel.tobytes() for pixel in sample['inputs'].permute(1, 2, 0).reshape(-1, 3).numpy()}
    source = cv2.imread(str(image_folder / 'big.png'))  # BGR, as mmcv loads it
    pixels = {pixel.tobytes() for pixel in source.reshape(-1, 3)}
    assert len(values) == PATCH * PATCH
    assert values <= pixels  # crop/flip/rotate move pixels but never change channel order


def test_recommended_pipeline_is_deterministic_given_a_seed(image_folder: Path) -> None:
    dataset = _build(image_folder)

    def run(seed: int) -> torch.Tensor:
        np.random.seed(seed)
        return torch.stack([dataset[0]['inputs'] for _ in range(6)])

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


def test_rot90_copies_a_read_only_input_even_for_k0() -> None:
    img = _image(4, 4)
    img.flags.writeable = False
    for k in range(4):
        out = RandomRot90(k=k)(dict(img=img))['img']
        assert out.flags.writeable and out.flags.c_contiguous
        assert not np.shares_memory(out, img)
        np.testing.assert_array_equal(out, np.rot90(img, k))
    writable = _image(4, 4)
    assert np.shares_memory(RandomRot90(k=0)(dict(img=writable))['img'], writable)  # no copy


def _cached(img: np.ndarray) -> dict:
    view = img.copy()
    view.flags.writeable = False
    return dict(cached_img=view, img_path='unused.png')


def test_load_from_cache_sets_what_load_from_file_sets() -> None:
    from mmsemdenoise.datasets import LoadImageFromCache
    img = _image(5, 7)
    results = LoadImageFromCache()(_cached(img))
    assert 'cached_img' not in results
    np.testing.assert_array_equal(results['img'], img)
    assert results['img'].flags.writeable  # copy=True
    assert results['img_shape'] == results['ori_shape'] == (5, 7)
    source = _cached(img)
    shared = LoadImageFromCache(copy=False)(dict(source))['img']
    assert shared is source['cached_img'] and not shared.flags.writeable
    as_float = LoadImageFromCache(to_float32=True)(_cached(img))['img']
    assert as_float.dtype == np.float32 and np.array_equal(as_float, img.astype(np.float32))
    assert TRANSFORMS.get('LoadImageFromCache') is LoadImageFromCache
    assert 'copy=False' in repr(LoadImageFromCache(copy=False))


def test_load_from_cache_without_the_cache(tmp_path: Path) -> None:
    from mmsemdenoise.datasets import LoadImageFromCache
    path = tmp_path / 'a.png'
    assert cv2.imwrite(str(path), _image(6, 4))
    with pytest.raises(KeyError, match='cache_images=True'):
        LoadImageFromCache(missing='error')(dict(img_path=str(path)))
    results = LoadImageFromCache()(dict(img_path=str(path)))  # decodes, as LoadImageFromFile
    np.testing.assert_array_equal(results['img'], cv2.imread(str(path)))
    assert results['ori_shape'] == (6, 4)
    with pytest.raises(ValueError, match='missing must be one of'):
        LoadImageFromCache(missing='skip')
    with pytest.raises(ValueError, match=r'must be uint8 \(H, W, 3\)'):
        LoadImageFromCache()(dict(cached_img=np.zeros((4, 4), np.float32), img_path='x.png'))
