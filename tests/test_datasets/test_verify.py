"""File verification of CleanImageFolder and CamVidDataset: every bad file named at build time."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmengine.registry import DefaultScope

from mmsemdenoise.datasets import (BadFilesError, CamVidDataset, CleanImageFolder, check_image,
                                   skipped_files)
from mmsemdenoise.datasets import verify as verify_module
from mmsemdenoise.registry import DATASETS

RNG = np.random.default_rng(0)
IMAGE = RNG.integers(0, 256, (24, 30, 3), dtype=np.uint8)
PNG = cv2.imencode('.png', IMAGE)[1].tobytes()
JPEG = cv2.imencode('.jpg', IMAGE)[1].tobytes()


def _corrupt_png_data(png: bytes) -> bytes:
    """The PNG with bytes in the middle of its compressed data flipped (header and IEND kept)."""
    start = png.index(b'IDAT') + 4
    middle = start + 20
    return png[:middle] + bytes(b ^ 0xFF for b in png[middle:middle + 40]) + png[middle + 40:]


#: name -> (bytes, expected substring of the reason); None: a good file.
FILES = {
    'good.png': (PNG, None),
    'good.jpg': (JPEG, None),
    'png_named.jpg': (PNG, None),  # the content decides, as in mmcv's loader
    'zero.png': (b'', 'empty file (0 bytes)'),
    'text.png': (b'just some text, not pixels\n', 'not an image'),
    'truncated.png': (PNG[:len(PNG) // 2], 'truncated PNG'),
    'truncated.jpg': (JPEG[:len(JPEG) * 3 // 4], 'truncated JPEG'),
    'jpeg_header_then_garbage.jpg': (JPEG[:40] + RNG.bytes(2000), 'broken JPEG'),
    'random.bmp': (RNG.bytes(3000), 'not an image'),
}
BAD = sorted(name for name, (_, reason) in FILES.items() if reason)
GOOD = sorted(name for name, (_, reason) in FILES.items() if not reason)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    folder = tmp_path / 'images'
    folder.mkdir()
    for name, (data, _) in FILES.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize('mode', ['decode', 'header'])
def test_one_error_lists_every_bad_file_with_its_reason(mixed: Path, mode: str) -> None:
    with pytest.raises(BadFilesError) as error:
        CleanImageFolder(data_prefix=dict(img_path=str(mixed)), verify=mode)
    message = str(error.value)
    assert f'{len(BAD)} unreadable file(s) in {len(BAD)} of {len(FILES)} samples' in message
    lines = {line.split(': ', 1)[0].strip(): line for line in message.splitlines()[1:]}
    assert sorted(Path(p).name for p in lines) == BAD
    for name in BAD:
        assert FILES[name][1] in lines[str(mixed / name)], lines[str(mixed / name)]
    assert "on_bad_file='skip'" in message


def test_skip_leaves_bad_files_out_and_keeps_the_list(mixed: Path) -> None:
    pipeline = [dict(type='LoadImageFromFile')]
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        dataset = DATASETS.build(dict(type='CleanImageFolder', data_prefix=dict(img_path=str(mixed)),
                                      pipeline=pipeline, on_bad_file='skip'))
    assert len(dataset) == len(GOOD)
    assert [Path(dataset.get_data_info(i)['img_path']).name for i in range(len(dataset))] == GOOD
    assert [Path(p).name for p, _ in dataset.skipped_files] == BAD
    for i in range(len(dataset)):  # what is left loads through mmcv
        assert dataset[i]['img'].shape == IMAGE.shape
    assert skipped_files(dataset) == dataset.skipped_files


def test_off_checks_nothing(mixed: Path) -> None:
    dataset = CleanImageFolder(data_prefix=dict(img_path=str(mixed)), verify='off')
    assert len(dataset) == len(FILES) and dataset.verified_with == 'off'
    assert dataset.skipped_files == []


def test_decode_finds_corrupt_data_that_the_header_check_does_not(tmp_path: Path) -> None:
    path = tmp_path / 'flipped.png'
    path.write_bytes(_corrupt_png_data(PNG))
    shape, reason = check_image(str(path), 'header')
    assert shape == (24, 30, 3) and reason is None
    shape, reason = check_image(str(path), 'decode')
    assert shape is None and 'OpenCV cannot decode this PNG file' in reason
    # mmseg's label loader decodes with PIL: the same file, PIL's reason
    shape, reason = check_image(str(path), 'decode', decoder='pillow')
    assert shape is None and 'broken image data' in reason


def test_auto_picks_by_size(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flipped = mixed.parent / 'flipped'
    flipped.mkdir()
    (flipped / 'a.png').write_bytes(PNG)
    (flipped / 'b.png').write_bytes(_corrupt_png_data(PNG))
    with pytest.raises(BadFilesError, match='b.png'):  # 2 files: decoded
        CleanImageFolder(data_prefix=dict(img_path=str(flipped)))
    monkeypatch.setattr(verify_module, 'AUTO_DECODE_LIMIT', 1)
    dataset = CleanImageFolder(data_prefix=dict(img_path=str(flipped)))  # header only: passes
    assert dataset.verified_with == 'header' and len(dataset) == 2
    monkeypatch.setattr(verify_module, 'AUTO_HEADER_LIMIT', 1)
    assert CleanImageFolder(data_prefix=dict(img_path=str(mixed))).verified_with == 'off'


def test_only_the_samples_kept_by_indices_are_checked(mixed: Path) -> None:
    # sorted names: good.jpg is first; the bad files after it are never opened
    dataset = CleanImageFolder(data_prefix=dict(img_path=str(mixed)), indices=1)
    assert sorted(FILES)[0] == 'good.jpg' and len(dataset) == 1


def test_lazy_init_checks_at_first_access(mixed: Path) -> None:
    dataset = CleanImageFolder(data_prefix=dict(img_path=str(mixed)), lazy_init=True)
    with pytest.raises(BadFilesError, match='zero.png'):
        len(dataset)


def test_every_file_bad_is_an_error_even_when_skipping(tmp_path: Path) -> None:
    (tmp_path / 'a.png').write_bytes(b'')
    with pytest.raises(BadFilesError, match='every one of the 1 samples'):
        CleanImageFolder(data_prefix=dict(img_path=str(tmp_path)), on_bad_file='skip')


def test_bad_arguments_are_named(mixed: Path) -> None:
    with pytest.raises(ValueError, match="verify must be one of .* got 'yes'"):
        CleanImageFolder(data_prefix=dict(img_path=str(mixed)), verify='yes')
    with pytest.raises(ValueError, match="on_bad_file must be one of .* got 'ignore'"):
        CleanImageFolder(data_prefix=dict(img_path=str(mixed)), on_bad_file='ignore')


def test_wrappers_collect_the_skipped_files(tmp_path: Path) -> None:
    for sub, bad in (('x', 'x1.png'), ('y', 'y1.png')):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / 'ok.png').write_bytes(PNG)
        (tmp_path / sub / bad).write_bytes(b'')
    datasets = [dict(type='CleanImageFolder', data_root=str(tmp_path),
                     data_prefix=dict(img_path=sub), on_bad_file='skip') for sub in ('x', 'y')]
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        concat = DATASETS.build(dict(type='ConcatDataset', datasets=datasets))
    assert isinstance(concat, ConcatDataset) and len(concat) == 2  # metainfo untouched: it builds
    assert [Path(p).name for p, _ in skipped_files(concat)] == ['x1.png', 'y1.png']
    repeat = RepeatDataset(concat.datasets[1], times=2)
    assert [Path(p).name for p, _ in skipped_files(repeat)] == ['y1.png']


# ------------------------------------------------------------------ CamVid (image + label map)
def _camvid(root: Path, labels: dict) -> Path:
    (root / 'train').mkdir(parents=True)
    (root / 'trainannot').mkdir()
    for name, label in labels.items():
        assert cv2.imwrite(str(root / 'train' / name), IMAGE)
        if isinstance(label, bytes):
            (root / 'trainannot' / name).write_bytes(label)
        else:
            assert cv2.imwrite(str(root / 'trainannot' / name), label)
    return root


def test_camvid_checks_label_maps_and_pairs(tmp_path: Path) -> None:
    good = np.zeros(IMAGE.shape[:2], np.uint8)
    label_png = cv2.imencode('.png', good)[1].tobytes()
    root = _camvid(tmp_path, {
        'a.png': good,
        'b.png': label_png[:len(label_png) // 2],  # truncated label map
        'c.png': np.zeros((10, 30), np.uint8),  # another size than its image
        'd.png': np.zeros((24, 30, 3), np.uint8),  # three channels
    })
    (root / 'train' / 'e.png').write_bytes(b'')  # broken image, good label
    assert cv2.imwrite(str(root / 'trainannot' / 'e.png'), good)
    with pytest.raises(BadFilesError) as error:
        CamVidDataset(data_root=str(root))
    message = str(error.value)
    assert 'in 4 of 5 samples' in message
    assert f'{root / "trainannot" / "b.png"}: truncated PNG' in message
    assert 'is 24 x 30 but its label map' in message and '10 x 30 (H x W)' in message
    assert 'd.png has 3 channels, expected 1' in message
    assert f'{root / "train" / "e.png"}: empty file' in message

    dataset = CamVidDataset(data_root=str(root), on_bad_file='skip')
    assert len(dataset) == 1 and dataset.get_data_info(0)['img_path'].endswith('a.png')
    assert len(dataset.skipped_files) == 4


def test_camvid_palette_label_map_is_one_channel(tmp_path: Path) -> None:
    """mmseg reads label maps with PIL: a palette PNG is one channel there (OpenCV says 3)."""
    from PIL import Image
    root = _camvid(tmp_path, {'a.png': np.zeros(IMAGE.shape[:2], np.uint8)})
    label = Image.fromarray(np.ones(IMAGE.shape[:2], np.uint8), mode='L').convert('P')
    label.save(root / 'trainannot' / 'a.png')
    assert CamVidDataset(data_root=str(root), verify='decode').verified_with == 'decode'


# ------------------------------------------------------------------ fuzz: random bytes
def _fuzz_files(seed: int) -> dict:
    """Random bytes, random bytes behind real magic numbers, real files cut at random points."""
    rng = np.random.default_rng(seed)
    files = {}
    for i in range(4):
        files[f'random{i}.png'] = rng.bytes(int(rng.integers(1, 5000)))
    for i, magic in enumerate((b'\x89PNG\r\n\x1a\n', b'\xff\xd8\xff\xe0', b'BM', b'II*\x00')):
        files[f'magic{i}.jpg'] = magic + rng.bytes(int(rng.integers(0, 3000)))
    for i, data in enumerate((PNG, JPEG, PNG, JPEG)):
        files[f'cut{i}.png'] = data[:int(rng.integers(1, len(data) - 2))]
    return files


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('mode', ['decode', 'header'])
def test_random_bytes_are_named_in_the_error(tmp_path: Path, seed: int, mode: str) -> None:
    files = _fuzz_files(seed)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / 'zz_good.png').write_bytes(PNG)
    with pytest.raises(BadFilesError) as error:
        CleanImageFolder(data_prefix=dict(img_path=str(tmp_path)), verify=mode)
    message = str(error.value)
    assert f'{len(files)} unreadable file(s) in {len(files)} of {len(files) + 1}' in message
    for name in files:
        assert f'{tmp_path / name}: ' in message
    assert 'zz_good.png' not in message


def test_unverified_random_bytes_still_name_the_file_when_loaded(tmp_path: Path) -> None:
    """With verify='off' the failure comes from mmcv's loader, at the sample, naming the file."""
    (tmp_path / 'noise.png').write_bytes(np.random.default_rng(3).bytes(100))
    with DefaultScope.overwrite_default_scope('mmsemdenoise'):
        dataset = DATASETS.build(dict(type='CleanImageFolder', verify='off',
                                      data_prefix=dict(img_path=str(tmp_path)),
                                      pipeline=[dict(type='LoadImageFromFile')], max_refetch=1))
    with pytest.raises(Exception, match='noise.png'):
        dataset[0]


@pytest.mark.parametrize('folder', ['train', 'trainannot'])
def test_random_bytes_in_camvid_frames_or_labels_are_named(tmp_path: Path, folder: str) -> None:
    files = _fuzz_files(4)
    label = np.zeros(IMAGE.shape[:2], np.uint8)
    root = _camvid(tmp_path, {name: label for name in ['zz_good.png', *files]})
    for name, data in files.items():
        (root / folder / name).write_bytes(data)
    with pytest.raises(BadFilesError) as error:
        CamVidDataset(data_root=str(root), img_suffix='.png', seg_map_suffix='.png')
    message = str(error.value)
    # CamVid lists files by suffix: only the '.png' ones of the fuzz set are samples
    pngs = [name for name in files if name.endswith('.png')]
    assert f'{len(pngs)} unreadable file(s) in {len(pngs)} of {len(pngs) + 1}' in message
    for name in pngs:
        assert f'{root / folder / name}: ' in message
    assert 'zz_good.png' not in message
