"""Tests for :class:`mmsemdenoise.datasets.CamVidDataset` with mmseg's own pipeline."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from mmsemdenoise.datasets import CamVidDataset
from mmsemdenoise.registry import DATASETS

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='mmseg.LoadAnnotations'),
    dict(type='mmseg.PackSegInputs'),
]


def _build(**kwargs) -> CamVidDataset:
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        return DATASETS.build(dict(type='CamVidDataset', pipeline=PIPELINE, **kwargs))


@pytest.fixture
def tiny_camvid(tmp_path: Path) -> Path:
    """Two 4x6 frames whose labels hold every value 0-11 (11 = Unlabelled)."""
    labels = np.arange(24, dtype=np.uint8).reshape(4, 6) % 12
    for name in ('f1.png', 'f2.png'):
        (tmp_path / 'train').mkdir(exist_ok=True)
        (tmp_path / 'trainannot').mkdir(exist_ok=True)
        assert cv2.imwrite(str(tmp_path / 'train' / name), np.zeros((4, 6, 3), np.uint8))
        assert cv2.imwrite(str(tmp_path / 'trainannot' / name), labels)
    return tmp_path


def test_metainfo() -> None:
    classes = CamVidDataset.METAINFO['classes']
    assert len(classes) == 11 and classes[0] == 'Sky' and classes[10] == 'Bicyclist'
    assert len(CamVidDataset.METAINFO['palette']) == 11


def test_unlabelled_becomes_255(tiny_camvid: Path) -> None:
    dataset = _build(data_root=str(tiny_camvid))
    assert len(dataset) == 2
    assert dataset.label_map == {11: 255}
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 4, 6)
    seg = sample['data_samples'].gt_sem_seg.data
    expected = torch.arange(24).reshape(1, 4, 6) % 12
    expected[expected == 11] = 255
    assert torch.equal(seg, expected)


def test_class_subset_renumbers_and_ignores_the_rest(tiny_camvid: Path) -> None:
    dataset = _build(data_root=str(tiny_camvid), metainfo=dict(classes=('Road', 'Sky')))
    assert dataset.metainfo['palette'] == [[128, 64, 128], [128, 128, 128]]
    seg = dataset[0]['data_samples'].gt_sem_seg.data
    values = (torch.arange(24).reshape(1, 4, 6) % 12)
    assert torch.equal(seg[values == 3], torch.zeros_like(seg[values == 3]))  # Road -> 0
    assert torch.equal(seg[values == 0], torch.ones_like(seg[values == 0]))  # Sky -> 1
    assert set(seg.unique().tolist()) == {0, 1, 255}


def test_missing_label_map_is_reported(tiny_camvid: Path) -> None:
    (tiny_camvid / 'trainannot' / 'f2.png').unlink()
    with pytest.raises(FileNotFoundError, match='1 of 2 images.*f2.png'):
        _build(data_root=str(tiny_camvid))


def test_empty_image_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / 'train').mkdir()
    with pytest.raises(FileNotFoundError, match="no '.png' image found"):
        _build(data_root=str(tmp_path))


@pytest.mark.parametrize('split, length', [('train', 367), ('val', 101)])
def test_shared_camvid(split: str, length: int, shared_data) -> None:
    root = shared_data('segment/CamVid')
    dataset = _build(data_root=str(root), data_prefix=dict(img_path=split,
                                                           seg_map_path=f'{split}annot'))
    assert len(dataset) == length
    sample = dataset[0]
    assert sample['inputs'].shape == (3, 360, 480) and sample['inputs'].dtype == torch.uint8
    values = set(sample['data_samples'].gt_sem_seg.data.unique().tolist())
    assert values <= set(range(11)) | {255}
    assert 255 in values  # every CamVid frame has Unlabelled pixels
