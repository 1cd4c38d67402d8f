"""Small crafted files and values against denoising files (what ``tools/denoise.py`` runs): header
bombs refused before decoding, symlink loops and dangling links reported by name while the good
files are written, a JPEG cut short caught by its decoder, no non-finite number reaching an
output, leftovers of a killed run removed."""
import os
import struct
import subprocess
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mmsemdenoise.apis import denoise_array, denoise_files, read_photo
from mmsemdenoise.models.denoisers import DnCNN
from mmsemdenoise.utils.images import DEFAULT_MAX_PIXELS, ImageTooLargeError, header_pixels

REPO = Path(__file__).resolve().parents[2]
PHOTO = REPO / 'mmsemdenoise/demo_data/val/skimage_coffee.jpg'


@pytest.fixture(scope='module')
def net() -> DnCNN:
    torch.manual_seed(0)
    return DnCNN(num_layers=3).eval()


def jpeg_claiming(path: Path, height: int, width: int) -> Path:
    """A 16x16 JPEG whose frame header (SOF0) says ``height`` x ``width``: a few hundred bytes
    that decode to a grey image of that size."""
    data = bytearray(cv2.imencode('.jpg', np.full((16, 16, 3), 100, np.uint8))[1].tobytes())
    sof = data.index(b'\xff\xc0')
    data[sof + 5:sof + 9] = struct.pack('>HH', height, width)
    path.write_bytes(bytes(data))
    return path


def png_of_zeros(path: Path, side: int) -> Path:
    """A valid grey PNG of side x side zeros, compressed row by row (~side^2 / 1000 bytes)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack('>I', len(body)) + kind + body +
                struct.pack('>I', zlib.crc32(kind + body) & 0xFFFFFFFF))
    packer, row, parts = zlib.compressobj(9), b'\x00' * (side + 1), []
    for _ in range(side):
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    ihdr = struct.pack('>IIBBBBB', side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) +
                     chunk(b'IDAT', b''.join(parts)) + chunk(b'IEND', b''))
    return path


def test_header_bombs_are_refused_before_decoding(tmp_path):
    bomb_jpeg = jpeg_claiming(tmp_path / 'bomb.jpg', 30000, 30000)
    bomb_png = png_of_zeros(tmp_path / 'bomb.png', 16000)
    assert bomb_jpeg.stat().st_size < 4096 and bomb_png.stat().st_size < 1 << 20
    assert header_pixels(bomb_jpeg) == 900_000_000 and header_pixels(bomb_png) == 256_000_000
    with pytest.raises(ImageTooLargeError, match=r'bomb.jpg: 900.0 megapixels in its header, '
                       r'above the limit of 200 MP .*~2.5 GiB as 8-bit RGB and ~10.1 GiB'):
        read_photo(bomb_jpeg)
    with pytest.raises(ImageTooLargeError, match=r'bomb.png: 256.0 megapixels'):
        read_photo(bomb_png)
    small = tmp_path / 'small.jpg'
    small.write_bytes(cv2.imencode('.jpg', np.full((64, 48, 3), 100, np.uint8))[1].tobytes())
    assert read_photo(small).pixels.shape == (64, 48, 3)  # under the limit: decoded
    with pytest.raises(ValueError, match='claims.jpg: truncated JPEG'):  # too little data for
        read_photo(jpeg_claiming(tmp_path / 'claims.jpg', 64, 48))  # its header: grey, refused
    with pytest.raises(ImageTooLargeError, match='above the limit of 0.001 MP'):
        read_photo(small, max_pixels=1000)
    assert DEFAULT_MAX_PIXELS == 200_000_000


def test_a_jpeg_cut_short_with_an_end_marker_is_caught_by_decoding(tmp_path):
    data = PHOTO.read_bytes()
    (tmp_path / 'cut.jpg').write_bytes(data[:len(data) // 2] + b'\xff\xd9')
    with pytest.raises(ValueError, match=r'cut.jpg: truncated JPEG \(the decoder says: '
                       r'Corrupt JPEG data: premature end of data segment\)'):
        read_photo(tmp_path / 'cut.jpg')
    assert read_photo(PHOTO).pixels.shape[:2] == cv2.imread(str(PHOTO)).shape[:2]


def test_symlink_loops_and_dangling_links_are_failures_by_name(tmp_path, net):
    src, out = tmp_path / 'in', tmp_path / 'out'
    src.mkdir()
    out.mkdir()
    for name in ('a.png', 'b.png'):
        cv2.imwrite(str(src / name), np.full((12, 12, 3), 90, np.uint8))
    (src / 'loop.png').symlink_to('loop.png')
    (src / 'gone.png').symlink_to('nowhere.png')
    (out / 'b.png').symlink_to('b.png')  # an output's name is a loop
    files = sorted(src.iterdir())
    logged = []
    report = denoise_files(net, files, out, log=logged.append, progress=False)
    assert report.written == [src / 'a.png'] and (out / 'a.png').is_file()
    assert report.failed == {
        src / 'b.png': f'its output {out / "b.png"} is a symlink loop: remove it',
        src / 'gone.png': 'dangling symlink to nowhere.png',
        src / 'loop.png': 'symlink loop (too many levels of symbolic links)'}
    assert len(logged) == 3 and all(line.startswith('FAILED ') for line in logged)


@pytest.mark.parametrize('value', [float('nan'), float('inf'), -1.0])
def test_noise_levels_must_be_finite_and_non_negative(tmp_path, net, value):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    for kwargs in (dict(noise_level=value), dict(add_noise_sigma=value)):
        with pytest.raises(ValueError, match='must be a finite number >= 0'):
            denoise_files(net, [tmp_path / 'a.png'], tmp_path / 'out', progress=False, **kwargs)
    with pytest.raises(ValueError, match='must be a finite number >= 0'):
        denoise_array(net, np.zeros((8, 8, 3), np.uint8), value)
    assert not (tmp_path / 'out').exists()


def test_a_non_finite_output_is_never_written(tmp_path):
    broken = DnCNN(num_layers=3).eval()
    with torch.no_grad():
        broken.layers[0].conv.weight[0, 0, 0, 0] = float('nan')  # e.g. a diverged training
    cv2.imwrite(str(tmp_path / 'a.png'), np.full((8, 8, 3), 50, np.uint8))
    with pytest.raises(ValueError, match=r'non-finite values \(NaN/inf\)'):
        denoise_array(broken, np.zeros((8, 8, 3), np.uint8))
    report = denoise_files(broken, [tmp_path / 'a.png'], tmp_path / 'out', progress=False,
                           log=lambda line: None)
    assert 'non-finite' in report.failed[tmp_path / 'a.png']
    assert list((tmp_path / 'out').iterdir()) == []


def test_leftovers_of_a_killed_run_are_removed_at_the_next_start(tmp_path, net):
    proc = subprocess.Popen(['true'])
    proc.wait()  # its process id is free now: a writer that was killed
    out = tmp_path / 'out'
    out.mkdir()
    stale = out / f'.a.png.{proc.pid}.k2j3h4xq.tmp'
    stale.write_bytes(b'half a png')
    live = out / f'.a.png.{os.getpid()}.abcdefgh.tmp'  # a writer still running: kept
    live.write_bytes(b'being written')
    unknown = out / '.a.png.abcdefgh.tmp'  # no process id: named, kept
    unknown.write_bytes(b'?')
    cv2.imwrite(str(tmp_path / 'a.png'), np.full((8, 8, 3), 50, np.uint8))
    report = denoise_files(net, [tmp_path / 'a.png'], out, progress=False)
    assert report.written and not stale.exists() and live.exists() and unknown.exists()
