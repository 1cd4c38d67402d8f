"""Tests for :class:`mmsemdenoise.datasets.CleanImageFolder`."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
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


# --- cache_images: every image decoded once, when the dataset is built ----------------------

#: The stage-1 training pipeline of configs/_base_/datasets/bsd400_denoise.py at a small patch.
def _train_pipeline(patch: int, first: dict) -> list:
    return [first,
            dict(type='mmpretrain.RandomCrop', crop_size=patch, pad_if_needed=True,
                 padding_mode='reflect'),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='RandomRot90'),
            dict(type='mmpretrain.PackInputs', meta_keys=('img_path', 'img_id', 'ori_shape',
                                                          'img_shape'))]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """tmp/photos: random JPEG and PNG images of different sizes, one of them grayscale."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'photos'
    root.mkdir()
    for i, (height, width) in enumerate([(20, 30), (33, 17), (16, 16), (25, 40)]):
        img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        assert cv2.imwrite(str(root / f'{i}.{"jpg" if i % 2 else "png"}'), img)
    gray = rng.integers(0, 256, (18, 22), dtype=np.uint8)
    assert cv2.imwrite(str(root / 'gray.png'), gray)  # decoded to 3 channels, as mmcv does
    return root


def _folder(root: Path, pipeline: list, **kwargs) -> CleanImageFolder:
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        return DATASETS.build(dict(type='CleanImageFolder', data_prefix=dict(img_path=str(root)),
                                   pipeline=pipeline, **kwargs))


@pytest.mark.parametrize('serialize_data', [True, False])
def test_cache_gives_the_decoded_pixels_without_decoding_again(
        photos: Path, serialize_data: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = _folder(photos, [dict(type='LoadImageFromFile')])
    expected = [decoded[i] for i in range(len(decoded))]
    cached = _folder(photos, [dict(type='LoadImageFromCache')], cache_images=True,
                     serialize_data=serialize_data)
    assert cached.num_decoded == len(cached) == 5
    assert cached.cache.nbytes == sum(e['img'].size for e in expected)
    import mmcv

    def no_decode(*args, **kwargs):
        raise AssertionError('decoded again')

    monkeypatch.setattr(mmcv, 'imfrombytes', no_decode)
    monkeypatch.setattr(cv2, 'imdecode', no_decode)
    for i, want in enumerate(expected):
        got = cached[i]
        assert got['img'].dtype == np.uint8 and got['img'].shape == want['img'].shape
        np.testing.assert_array_equal(got['img'], want['img'])
        assert got['img_shape'] == want['img_shape'] == got['ori_shape'] == want['ori_shape']
        assert got['img_path'] == want['img_path'] and got['img_id'] == want['img_id']
        assert 'cached_img' not in got
        assert got['img'].flags.writeable  # LoadImageFromCache's default copy=True
        assert not np.shares_memory(got['img'], cached.cache)
    assert cached.num_decoded == 5


@pytest.mark.parametrize('patch', [8, 16])  # 16: the 16x16 image is cropped whole (a view)
def test_training_pipeline_never_writes_into_the_cache(photos: Path, patch: int) -> None:
    dataset = _folder(photos, _train_pipeline(patch, dict(type='LoadImageFromCache', copy=False)),
                      cache_images=True)
    before = dataset.cache.copy()
    view = dataset.get_data_info(0)['cached_img']
    assert not view.flags.writeable and np.shares_memory(view, dataset.cache)
    with pytest.raises(ValueError, match='read-only'):
        view[0, 0, 0] = 1
    with pytest.raises(ValueError):
        view.flags.writeable = True  # the buffer itself is read-only
    np.random.seed(0)
    for _ in range(10):
        for i in range(len(dataset)):
            inputs = dataset[i]['inputs']
            assert inputs.shape == (3, patch, patch)
            assert not np.shares_memory(inputs.numpy(), dataset.cache)
            inputs.add_(1)  # a writing consumer changes its own copy only
    np.testing.assert_array_equal(dataset.cache, before)


def test_cached_and_decoded_training_patches_are_equal_for_a_seed(photos: Path) -> None:
    file_set = _folder(photos, _train_pipeline(12, dict(type='LoadImageFromFile')))
    cache_set = _folder(photos, _train_pipeline(12, dict(type='LoadImageFromCache', copy=False)),
                        cache_images=True)

    def patches(dataset) -> list:
        np.random.seed(1)
        return [dataset[i % len(dataset)]['inputs'] for i in range(20)]

    for a, b in zip(patches(file_set), patches(cache_set)):
        assert torch.equal(a, b)


def test_cache_with_workers_matches_decoding(photos: Path) -> None:
    """Forked dataloader workers read the cache built in the main process."""
    from mmengine.runner import Runner

    def first_batches(first: dict, cache: bool) -> list:
        with DefaultScope.overwrite_default_scope('mmsemdenoise'):
            loader = Runner.build_dataloader(
                dict(batch_size=3, num_workers=2, persistent_workers=False,
                     sampler=dict(type='InfiniteSampler', shuffle=True),
                     dataset=dict(type='CleanImageFolder', data_prefix=dict(img_path=str(photos)),
                                  pipeline=_train_pipeline(12, first), cache_images=cache)),
                seed=0)
        iterator = iter(loader)
        return [torch.stack(next(iterator)['inputs']) for _ in range(4)]

    cached = first_batches(dict(type='LoadImageFromCache', copy=False), True)
    decoded = first_batches(dict(type='LoadImageFromFile'), False)
    assert all(torch.equal(a, b) for a, b in zip(cached, decoded))
    assert len({batch.numpy().tobytes() for batch in cached}) == 4


def test_cache_lazy_init_test_mode_and_concat(photos: Path, tmp_path: Path) -> None:
    lazy = _folder(photos, [dict(type='LoadImageFromCache', missing='error')], cache_images=True,
                   lazy_init=True, test_mode=True)
    assert lazy.cache is None and lazy.num_decoded == 0
    assert lazy[0]['img'].shape == (20, 30, 3)  # built at the first access
    assert lazy.num_decoded == 5
    for sub in ('x', 'y'):
        _write(tmp_path / sub / 'same.png', value=ord(sub))
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        concat = DATASETS.build(dict(type='ConcatDataset', datasets=[
            dict(type='CleanImageFolder', data_root=str(tmp_path), data_prefix=dict(img_path=sub),
                 pipeline=[dict(type='LoadImageFromCache', missing='error')], cache_images=True)
            for sub in ('x', 'y')]))
    assert [concat[i]['img_id'] for i in range(2)] == ['x/same.png', 'y/same.png']
    assert [int(concat[i]['img'][1, 1, 0]) for i in range(2)] == [ord('x'), ord('y')]


def _with_bad_file(root: Path) -> Path:
    """``root`` plus an image that passes the header check but does not decode."""
    png = cv2.imencode('.png', np.full((24, 30, 3), 7, np.uint8))[1].tobytes()
    start = png.index(b'IDAT') + 24  # flip bytes inside the compressed data; header, IEND kept
    (root / 'broken.png').write_bytes(png[:start] + bytes(b ^ 0xFF for b in png[start:start + 40])
                                      + png[start + 40:])
    return root / 'broken.png'


@pytest.mark.parametrize('verify', ['header', 'off'])
def test_cache_names_a_file_that_does_not_decode(photos: Path, verify: str) -> None:
    from mmsemdenoise.datasets import BadFilesError
    broken = _with_bad_file(photos)
    with pytest.raises(BadFilesError) as error:
        _folder(photos, [dict(type='LoadImageFromCache')], cache_images=True, verify=verify)
    message = str(error.value)
    assert f'{broken}: OpenCV cannot decode it for cache_images=True' in message
    assert '1 of 6 files' in message and "on_bad_file='skip'" in message
    skipping = _folder(photos, [dict(type='LoadImageFromCache', missing='error')],
                       cache_images=True, verify=verify, on_bad_file='skip')
    assert len(skipping) == 5 and skipping.num_decoded == 5
    assert [Path(p) for p, _ in skipping.skipped_files] == [broken]
    assert all(skipping[i]['img'].ndim == 3 for i in range(5))


def test_cache_after_the_file_check_decodes_only_the_good_files(photos: Path) -> None:
    from mmsemdenoise.datasets import BadFilesError
    broken = _with_bad_file(photos)
    with pytest.raises(BadFilesError, match='unreadable file'):  # the check's own error
        _folder(photos, [], cache_images=True, verify='decode')
    skipping = _folder(photos, [], cache_images=True, verify='decode', on_bad_file='skip')
    assert skipping.num_decoded == len(skipping) == 5
    assert [Path(p) for p, _ in skipping.skipped_files] == [broken]
    (photos / 'text.png').write_text('not an image')
    for i in range(6):
        (photos / f'{i}.png').unlink(missing_ok=True)
        (photos / f'{i}.jpg').unlink(missing_ok=True)
    (photos / 'gray.png').unlink()
    with pytest.raises(BadFilesError, match='none of the 2 files can be decoded'):
        _folder(photos, [], cache_images=True, verify='off', on_bad_file='skip')


def test_stage1_configs_train_from_the_cache(repo_root: Path) -> None:
    """The BSD400 base (every stage-1 config) caches; a stage-1 config loads from the cache (on
    the 15 bundled demo photos, in place of BSD400)."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(str(repo_root / 'configs/denoise/three-scale_bsd400_blind_cpu-2h.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    assert dataset_cfg.cache_images is True
    assert dataset_cfg.pipeline[0] == dict(type='LoadImageFromCache', copy=False)
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    dataset_cfg.update(data_root=str(repo_root / 'mmsemdenoise/demo_data'),
                       data_prefix=dict(img_path='train'))
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        loader = Runner.build_dataloader(cfg.train_dataloader.to_dict(), seed=0)
    assert loader.dataset.num_decoded == len(loader.dataset) == 15
    batch = next(iter(loader))
    assert batch['inputs'].shape == (16, 3, 64, 64) and batch['inputs'].dtype == torch.uint8
    assert len(batch['data_samples']) == 16


def test_cache_above_its_limit_is_refused_before_decoding(photos: Path) -> None:
    """The headers give the decoded size (H x W x 3 bytes; the grey image too): at that limit
    the cache builds, one byte below it the dataset refuses with the folder and the options."""
    decoded = (20 * 30 + 33 * 17 + 16 * 16 + 25 * 40 + 18 * 22) * 3
    pipeline = [dict(type='LoadImageFromCache')]
    cached = _folder(photos, pipeline, cache_images=True, cache_max_gib=decoded / 2**30)
    assert cached.cache.nbytes == decoded
    with pytest.raises(ValueError, match=r"cache_images=True would hold .* GiB of decoded "
                       rf"images of '{photos}' \(5 files\).*cache_images=False.*cache_max_gib"):
        _folder(photos, pipeline, cache_images=True, cache_max_gib=(decoded - 1) / 2**30)
    assert len(_folder(photos, pipeline, cache_max_gib=0)) == 5  # no cache: no limit
