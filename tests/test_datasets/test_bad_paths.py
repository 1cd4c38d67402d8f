"""A bad path is a bad file in the datasets: symlink loops, dangling links and header bombs are
listed by name in one BadFilesError (or skipped with the list kept), never dropped silently."""
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmsemdenoise.datasets import CleanImageFolder
from mmsemdenoise.datasets.verify import BadFilesError, check_image


def jpeg_claiming(path: Path, height: int, width: int) -> Path:
    """A 16x16 JPEG whose frame header says ``height`` x ``width`` (a few hundred bytes)."""
    data = bytearray(cv2.imencode('.jpg', np.full((16, 16, 3), 100, np.uint8))[1].tobytes())
    sof = data.index(b'\xff\xc0')
    data[sof + 5:sof + 9] = struct.pack('>HH', height, width)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i in range(2):
        cv2.imwrite(str(tmp_path / f'{i}.png'), np.full((8, 8, 3), 60 * i, np.uint8))
    (tmp_path / 'loop.png').symlink_to('loop.png')
    (tmp_path / 'gone.jpg').symlink_to('deleted.jpg')
    jpeg_claiming(tmp_path / 'bomb.jpg', 30000, 30000)
    return tmp_path


@pytest.mark.parametrize('verify', ['header', 'decode'])
def test_every_bad_path_is_named(folder: Path, verify: str) -> None:
    with pytest.raises(BadFilesError) as info:
        CleanImageFolder(data_prefix=dict(img_path=str(folder)), verify=verify)
    message = str(info.value)
    assert '3 unreadable file(s) in 3 of 5 samples' in message, message
    assert f'{folder}/loop.png: symlink loop' in message
    assert f'{folder}/gone.jpg: dangling symlink to deleted.jpg' in message
    assert f'{folder}/bomb.jpg: image too large: 900.0 megapixels in its header' in message


def test_skip_keeps_the_good_ones_and_the_list(folder: Path) -> None:
    dataset = CleanImageFolder(data_prefix=dict(img_path=str(folder)), on_bad_file='skip')
    assert [Path(dataset[i]['img_path']).name for i in range(len(dataset))] == ['0.png', '1.png']
    assert sorted(Path(path).name for path, _ in dataset.skipped_files) == [
        'bomb.jpg', 'gone.jpg', 'loop.png']


def test_the_pixel_limit_is_an_argument(folder: Path) -> None:
    assert check_image(str(folder / '0.png'), 'header', max_pixels=64)[1] is None
    shape, reason = check_image(str(folder / '0.png'), 'header', max_pixels=63)
    assert shape is None and 'image too large: 0.0 megapixels' in reason


def test_camvid_names_a_dangling_frame(tmp_path: Path, make_camvid) -> None:
    from mmsemdenoise.datasets import CamVidDataset
    root = make_camvid(tmp_path / 'CamVid', n_train=2, n_val=1)
    (root / 'train' / 'train_009.png').symlink_to('deleted.png')  # its label map is there
    (root / 'trainannot' / 'train_009.png').write_bytes(
        (root / 'trainannot' / 'train_000.png').read_bytes())
    with pytest.raises(BadFilesError, match=r'1 unreadable file\(s\) in 1 of 3 samples .*\n.*'
                       r'train/train_009.png: dangling symlink to deleted.png'):
        CamVidDataset(data_root=str(root), data_prefix=dict(img_path='train',
                                                            seg_map_path='trainannot'))


def test_decode_finds_a_jpeg_cut_short_with_an_end_marker(tmp_path: Path) -> None:
    photo = (Path(__file__).resolve().parents[2] /
             'mmsemdenoise/demo_data/val/skimage_coffee.jpg').read_bytes()
    (tmp_path / 'good.jpg').write_bytes(photo)
    (tmp_path / 'cut.jpg').write_bytes(photo[:len(photo) // 2] + b'\xff\xd9')
    assert check_image(str(tmp_path / 'cut.jpg'), 'header')[1] is None  # its end looks complete
    with pytest.raises(BadFilesError, match=r'cut.jpg: truncated JPEG \(the decoder says: '
                       r'Corrupt JPEG data: premature end of data segment\)'):
        CleanImageFolder(data_prefix=dict(img_path=str(tmp_path)), verify='decode')
