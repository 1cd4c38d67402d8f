"""Reading and writing photos: bit depth, grey, alpha, EXIF orientation, atomic no-clobber
writes, and the bad files (each gets an error naming it)."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from mmsemdenoise.apis.image_io import (Photo, encode_photo, output_name, read_photo,
                                        write_atomic, write_photo)

RNG = np.random.default_rng(0)


def _rgb(h=20, w=30, dtype=np.uint8):
    return RNG.integers(0, np.iinfo(dtype).max + 1, (h, w, 3), dtype=dtype)


@pytest.mark.parametrize('suffix', ['.png', '.tif'])
@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_colour_grey_and_alpha_round_trip_at_their_depth(tmp_path, suffix, dtype):
    rgb, alpha = _rgb(dtype=dtype), _rgb(dtype=dtype)[..., 0]
    cv2.imwrite(str(tmp_path / f'rgb{suffix}'), rgb[..., ::-1])          # stored as BGR
    cv2.imwrite(str(tmp_path / f'grey{suffix}'), rgb[..., 0])
    cv2.imwrite(str(tmp_path / f'rgba{suffix}'), np.dstack([rgb[..., ::-1], alpha]))
    photo = read_photo(tmp_path / f'rgb{suffix}')
    assert photo.alpha is None and photo.pixels.dtype == dtype
    np.testing.assert_array_equal(photo.pixels, rgb)                      # RGB order
    grey = read_photo(tmp_path / f'grey{suffix}')
    assert grey.pixels.shape == (20, 30) and grey.alpha is None
    rgba = read_photo(tmp_path / f'rgba{suffix}')
    np.testing.assert_array_equal(rgba.pixels, rgb)
    np.testing.assert_array_equal(rgba.alpha, alpha)
    for name, photo in (('rgb', photo), ('grey', grey), ('rgba', rgba)):
        write_photo(tmp_path / f'out_{name}{suffix}', photo)
        back = read_photo(tmp_path / f'out_{name}{suffix}')
        np.testing.assert_array_equal(back.pixels, photo.pixels)
        assert (back.alpha is None) == (photo.alpha is None)
        if photo.alpha is not None:
            np.testing.assert_array_equal(back.alpha, photo.alpha)


def test_grey_alpha_png_and_tiff_read_as_grey_plus_alpha(tmp_path):
    la = RNG.integers(0, 256, (12, 16, 2), dtype=np.uint8)
    Image.fromarray(la, 'LA').save(tmp_path / 'la.png')
    photo = read_photo(tmp_path / 'la.png')
    assert photo.pixels.shape == (12, 16)
    np.testing.assert_array_equal(photo.pixels, la[..., 0])
    np.testing.assert_array_equal(photo.alpha, la[..., 1])
    write_photo(tmp_path / 'out.png', photo)  # stored as RGBA with equal colour channels
    back = read_photo(tmp_path / 'out.png')
    np.testing.assert_array_equal(back.pixels[..., 0], la[..., 0])
    np.testing.assert_array_equal(back.alpha, la[..., 1])
    Image.fromarray(la, 'LA').save(tmp_path / 'la.tif')  # OpenCV alone reads no alpha here
    photo = read_photo(tmp_path / 'la.tif')
    np.testing.assert_array_equal(photo.pixels, la[..., 0])
    np.testing.assert_array_equal(photo.alpha, la[..., 1])


@pytest.mark.parametrize('orientation', range(1, 9))
def test_exif_orientation_is_applied_as_pil_does(tmp_path, orientation):
    stored = _rgb(12, 20)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / 'o.png', exif=exif)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / 'o.png')).convert('RGB'))
    photo = read_photo(tmp_path / 'o.png')
    np.testing.assert_array_equal(photo.pixels, upright)
    assert photo.pixels.shape[:2] == ((20, 12) if orientation >= 5 else (12, 20))


def test_jpeg_exif_orientation_and_output_names(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to view
    Image.fromarray(_rgb(16, 40)).save(tmp_path / 'p.jpg', exif=exif, quality=95)
    assert read_photo(tmp_path / 'p.jpg').pixels.shape == (40, 16, 3)
    assert output_name(Path('a/p.jpg')) == 'p.png' and output_name(Path('p.JPEG')) == 'p.png'
    assert output_name(Path('x.tif')) == 'x.tif' and output_name(Path('x.PNG')) == 'x.PNG'


def test_bad_files_raise_naming_the_file(tmp_path):
    good = cv2.imencode('.png', _rgb())[1].tobytes()
    jpeg = cv2.imencode('.jpg', _rgb(64, 64))[1].tobytes()
    cases = {
        'empty.png': (b'', 'empty file'),
        'text.png': (b'this is not an image\n' * 10, 'cannot decode'),
        'cut.png': (good[:len(good) // 2], 'cannot decode'),
        'cut.jpg': (jpeg[:len(jpeg) // 2], 'truncated JPEG'),
        'float.tif': (cv2.imencode('.tif', np.zeros((4, 4), np.float32))[1].tobytes(),
                      'only 8- and 16-bit'),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=message) as info:
            read_photo(tmp_path / name)
        assert name in str(info.value)
    pages = [Image.fromarray(_rgb()), Image.fromarray(_rgb())]
    pages[0].save(tmp_path / 'pages.tif', save_all=True, append_images=pages[1:])
    with pytest.raises(ValueError, match='pages.tif: 2 frames'):
        read_photo(tmp_path / 'pages.tif')  # the output would drop the second page
    (tmp_path / 'folder.png').mkdir()
    with pytest.raises(ValueError, match='folder.png: not a regular file'):
        read_photo(tmp_path / 'folder.png')
    with pytest.raises(ValueError, match='missing.png: not a regular file'):
        read_photo(tmp_path / 'missing.png')
    with pytest.raises(ValueError, match='cannot encode'):
        encode_photo(Photo(_rgb(dtype=np.uint16), None), '.bmp')  # BMP has no 16 bit


def test_write_atomic_never_clobbers_and_leaves_no_temporary(tmp_path):
    target = tmp_path / 'out.png'
    write_atomic(target, b'first')
    assert target.read_bytes() == b'first'
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())  # not mkstemp's 0600
    with pytest.raises(FileExistsError, match='out.png exists'):
        write_atomic(target, b'second')
    assert target.read_bytes() == b'first'
    write_atomic(target, b'second', force=True)
    assert target.read_bytes() == b'second'
    (tmp_path / 'dir.png').mkdir()  # the rename fails: the folder stays, no temporary remains
    with pytest.raises(OSError):
        write_atomic(tmp_path / 'dir.png', b'x', force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['dir.png', 'out.png']


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask
