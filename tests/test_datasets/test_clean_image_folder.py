"""Tests for :class:`mmsemdenoise.datasets.CleanImageFolder`."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.dataset import ConcatDataset
from mmengine.registry import DefaultScope

from mmsemdenoise.datasets import CleanImageFolder
from mmsemdenoise.registry import DATASETS


def _write(path: Path, height: int = 6, width: int = 8, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((height, width, 3), value, np.uint8)
    img[0, 0] = (255, 0, 0)  # blue in BGR
    assert cv2.imwrite(str(path), img), path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """tmp/images with 5 images of mixed extensions, a text file and a sub-folder image."""
    root = tmp_path / 'images'
    for name in ('b.png', 'a.jpg', 'c.JPEG', 'd.bmp', 'e.tif'):
        _write(root / name)
    (root / 'notes.txt').write_text('not an image')
    _write(root / 'sub' / 'f.png')
    return root


def test_lists_sorted_images_with_ids(folder: Path) -> None:
    dataset = CleanImageFolder(data_root=str(folder.parent), data_prefix=dict(img_path='images'))
    assert len(dataset) == 5
    ids = [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]
    assert ids == ['images/a.jpg', 'images/b.png', 'images/c.JPEG', 'images/d.bmp',
                   'images/e.tif']
    info = dataset.get_data_info(1)
    assert info['img_path'] == str(folder / 'b.png')


def test_recursive_and_extensions(folder: Path) -> None:
    recursive = CleanImageFolder(data_prefix=dict(img_path=str(folder)), recursive=True)
    ids = [recursive.get_data_info(i)['img_id'] for i in range(len(recursive))]
    assert len(recursive) == 6
    assert 'sub/f.png' in ids  # no data_root: ids relative to the folder
    only_png = CleanImageFolder(data_prefix=dict(img_path=str(folder)), extensions=('.PNG', ))
    assert len(only_png) == 1


def test_img_id_does_not_depend_on_how_the_root_is_spelled(folder: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    absolute = CleanImageFolder(data_root=str(folder.parent), data_prefix=dict(img_path='images'))
    monkeypatch.chdir(folder.parent)
    relative = CleanImageFolder(data_root='.', data_prefix=dict(img_path='images/'))
    absolute_prefix = CleanImageFolder(data_root=os.curdir, data_prefix=dict(img_path=str(folder)))
    ids = [[d.get_data_info(i)['img_id'] for i in range(len(d))]
           for d in (absolute, relative, absolute_prefix)]
    assert ids[0] == ids[1] == ids[2]


def test_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match='nowhere'):
        CleanImageFolder(data_root=str(tmp_path), data_prefix=dict(img_path='nowhere'))


def test_empty_folder_names_folder_and_extensions(tmp_path: Path) -> None:
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'readme.txt').write_text('no images here')
    with pytest.raises(FileNotFoundError, match='no image') as error:
        CleanImageFolder(data_root=str(tmp_path), data_prefix=dict(img_path='empty'))
    message = str(error.value)
    assert str(tmp_path / 'empty') in message
    assert all(f"'{ext}'" in message for ext in ('.png', '.jpg', '.jpeg', '.bmp', '.tif'))


def test_bad_data_prefix_key(folder: Path) -> None:
    with pytest.raises(KeyError, match='img_path'):
        CleanImageFolder(data_prefix=dict(img=str(folder)))


def test_pipeline_loads_uint8_bgr(folder: Path) -> None:
    pipeline = [dict(type='LoadImageFromFile')]
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        dataset = DATASETS.build(
            dict(type='CleanImageFolder', data_prefix=dict(img_path=str(folder)),
                 pipeline=pipeline))
    sample = dataset[1]  # b.png
    assert sample['img'].shape == (6, 8, 3) and sample['img'].dtype == np.uint8
    assert tuple(sample['img'][0, 0]) == (255, 0, 0)  # BGR as mmcv loads it
    assert sample['img_id'] == 'b.png'


def test_concat_keeps_ids_distinct(tmp_path: Path) -> None:
    for sub in ('x', 'y'):
        _write(tmp_path / sub / 'same.png')
    datasets = [
        dict(type='CleanImageFolder', data_root=str(tmp_path), data_prefix=dict(img_path=sub))
        for sub in ('x', 'y')
    ]
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        dataset = DATASETS.build(dict(type='ConcatDataset', datasets=datasets))
    assert isinstance(dataset, ConcatDataset) and len(dataset) == 2
    assert [dataset.get_data_info(i)['img_id'] for i in range(2)] == ['x/same.png', 'y/same.png']


@pytest.mark.parametrize('name, length', [('BSD400', 400), ('CBSD68', 68), ('Kodak24', 24)])
def test_shared_denoise_sets(name: str, length: int, shared_data) -> None:
    root = shared_data(f'denoise/{name}').parent
    dataset = CleanImageFolder(data_root=str(root), data_prefix=dict(img_path=name))
    assert len(dataset) == length
    assert dataset.get_data_info(0)['img_id'].startswith(f'{name}/')
