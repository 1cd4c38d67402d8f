"""Read and write photos for denoising: 8/16-bit, grey or colour, alpha kept, EXIF orientation
applied, outputs written atomically and never over an existing file unless asked.

Pixels come back upright (the EXIF orientation is applied, as a viewer shows the photo) in RGB
order (grey stays one channel), uint8 or uint16, with the alpha channel, if any, separate. The
written file holds the upright pixels and no EXIF block, so every viewer shows it the same way.
"""
import os
import tempfile
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

import cv2
import numpy as np
from PIL import Image

from mmsemdenoise.utils.images import (DEFAULT_MAX_PIXELS, check_pixels, imdecode_checked,
                                       path_problem)

#: Formats written as they came (lossless); others (JPEG) are written as PNG.
LOSSLESS_SUFFIXES = ('.png', '.tif', '.tiff', '.bmp')
EXIF_ORIENTATION = 0x0112
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
PNG_GREY_ALPHA = 4  # IHDR colour type


class Photo(NamedTuple):
    """An upright image: ``pixels`` (H, W) grey or (H, W, 3) RGB, ``alpha`` (H, W) or None, both
    uint8 or uint16."""
    pixels: np.ndarray
    alpha: Optional[np.ndarray]


class _PilInfo(NamedTuple):
    orientation: int = 1  # EXIF, 1-8
    frames: int = 1
    alpha: bool = False   # PIL sees an alpha band


def _pil_info(path: Path) -> _PilInfo:
    """What PIL says of an image file; the defaults where it cannot parse it (OpenCV may still
    decode it)."""
    try:
        with Image.open(path) as im:
            orientation = int(im.getexif().get(EXIF_ORIENTATION, 1))
            return _PilInfo(orientation if 1 <= orientation <= 8 else 1,
                            int(getattr(im, 'n_frames', 1)), 'A' in im.getbands())
    except Exception:  # noqa: BLE001 -- no orientation or frame count we can use
        return _PilInfo()


def _pil_pixels_with_alpha(path: Path) -> np.ndarray:
    """Grey + alpha (H, W, 2) or BGRA (H, W, 4) pixels through PIL, for files whose alpha
    OpenCV drops (grey + alpha TIFF)."""
    with Image.open(path) as im:
        array = np.asarray(im)
    if array.ndim == 3 and array.shape[2] == 4:
        return array[..., [2, 1, 0, 3]]
    if array.ndim == 3 and array.shape[2] == 2:
        return array
    raise ValueError(f'{path}: OpenCV drops its alpha channel and PIL reads it as '
                     f'{array.shape} {array.dtype}; convert it to RGBA PNG first')


def exif_orientation(path: Path) -> int:
    """The EXIF orientation tag (1-8) of an image file; 1 when there is none or it is unreadable."""
    return _pil_info(path).orientation


def apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels (H, W, ...) upright, as PIL's ``ImageOps.exif_transpose`` does."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],                 # mirrored left-right
        3: lambda a: a[::-1, ::-1],              # rotated 180
        4: lambda a: a[::-1],                    # mirrored top-bottom
        5: lambda a: a.swapaxes(0, 1),           # transposed
        6: lambda a: np.rot90(a, -1),            # rotate 90 clockwise to view
        7: lambda a: np.rot90(a, 2).swapaxes(0, 1),  # transversed
        8: lambda a: np.rot90(a, 1),             # rotate 90 counter-clockwise to view
    }
    return np.ascontiguousarray(ops[orientation](array))


def _decode(path: Path, data: np.ndarray) -> Optional[np.ndarray]:
    """``cv2.imdecode`` that refuses a JPEG libjpeg finds cut short while decoding it (it would
    come back with a grey bottom)."""
    array, problem = imdecode_checked(data)
    if problem:
        raise ValueError(f'{path}: {problem}')
    if array is None and data[:2].tobytes() == b'\xff\xd8' and data[-2:].tobytes() != b'\xff\xd9':
        raise ValueError(f'{path}: truncated JPEG (it does not decode and has no end-of-image '
                         'marker)')
    return array


def _png_colour_type(data: np.ndarray) -> Optional[int]:
    """The IHDR colour type of PNG bytes (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA)."""
    return int(data[25]) if data.size > 25 and data[:8].tobytes() == PNG_SIGNATURE else None


def read_photo(path: Path, max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> Photo:
    """Read an image file upright, at its bit depth, grey or RGB, with its alpha channel.

    Args:
        path (Path): A PNG, JPEG, TIFF or BMP file (anything OpenCV decodes).
        max_pixels (int, optional): Refuse images whose header claims more pixels, before
            decoding (None or 0: no limit). Defaults to
            :data:`~mmsemdenoise.utils.images.DEFAULT_MAX_PIXELS` (200 MP).

    Returns:
        Photo: The upright pixels and alpha.

    Raises:
        ValueError: If the file is not a regular readable file (symlink loop, dangling link),
            is empty, is larger than ``max_pixels`` (:class:`~mmsemdenoise.utils.images.
            ImageTooLargeError`), cannot be decoded, is truncated (the JPEG decoder says so),
            has several frames, or holds other than 8/16-bit integers with 1-4 channels (the
            message names it).
    """
    path = Path(path)
    problem = path_problem(path)
    if problem:
        raise ValueError(f'{path}: {problem}')
    check_pixels(path, max_pixels)
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0:
        raise ValueError(f'{path}: empty file')
    array = _decode(path, data)
    if array is None:
        raise ValueError(f'{path}: cannot decode it as an image (not an image, damaged, or a '
                         'format OpenCV does not read)')
    info = _pil_info(path)
    if info.alpha and (array.ndim == 2 or array.shape[2] in (1, 3)):
        array = _pil_pixels_with_alpha(path)
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'{path}: {array.dtype} pixels; only 8- and 16-bit integer images are '
                         'supported')
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    channels = 1 if array.ndim == 2 else array.shape[2]
    if channels not in (1, 2, 3, 4):
        raise ValueError(f'{path}: {channels} channels; expected grey, grey + alpha, RGB or RGBA')
    if info.frames > 1:
        raise ValueError(f'{path}: {info.frames} frames (multi-page or animated); only single '
                         'images are supported, the output would drop the others')
    array = apply_orientation(array, info.orientation)
    if channels == 1:
        return Photo(array, None)
    if channels == 2:
        return Photo(array[..., 0].copy(), array[..., 1].copy())
    alpha = array[..., 3].copy() if channels == 4 else None
    pixels = cv2.cvtColor(np.ascontiguousarray(array[..., :3]), cv2.COLOR_BGR2RGB)
    if alpha is not None and _png_colour_type(data) == PNG_GREY_ALPHA:
        pixels = pixels[..., 0].copy()  # OpenCV expands grey + alpha PNGs to 4 channels
    return Photo(pixels, alpha)


def output_name(path: Path) -> str:
    """The output file name of an input: the same name for lossless formats, ``<stem>.png`` for
    others (JPEG), so denoising adds no compression artefacts."""
    return path.name if path.suffix.lower() in LOSSLESS_SUFFIXES else f'{path.stem}.png'


def encode_photo(photo: Photo, suffix: str) -> bytes:
    """Encode a photo for ``suffix`` (``.png``, ``.tif``, ...), at its bit depth.

    Grey + alpha is stored as 4 channels with equal colour channels (OpenCV writes no
    two-channel image): the same grey pixels and the same alpha.

    Raises:
        ValueError: If OpenCV cannot encode it exactly (e.g. 16-bit BMP).
    """
    pixels, alpha = photo
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    if alpha is not None:
        colour = pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
        pixels = np.dstack([colour, alpha])
    what = f'cannot encode {pixels.shape} {pixels.dtype} pixels as {suffix}'
    try:
        ok, buffer = cv2.imencode(suffix, pixels)
    except cv2.error as e:
        raise ValueError(f'{what}: {e}') from e
    # OpenCV falls back to 8 bit (with only a log line) where a format has no 16 bit: check
    # that the file decodes to exactly these pixels.
    back = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if ok else None
    if back is None or back.dtype != pixels.dtype or not np.array_equal(back, pixels):
        raise ValueError(f'{what}: the format does not store them losslessly')
    return buffer.tobytes()


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes, force: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    A reader never sees a partial file, and an interrupted write leaves at most no new file.
    Without ``force`` an existing ``path`` is never replaced (the final step is a hard link,
    which fails if the name exists; where hard links are not supported, a check then rename).

    Raises:
        FileExistsError: If ``path`` exists and ``force`` is False.
    """
    path = Path(path)
    # the process id in the name lets the next run tell a killed writer's leftover
    # (mmsemdenoise.utils.atomic_files.remove_stale_temp_files)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.{os.getpid()}.',
                               suffix='.tmp')
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise FileExistsError(f'{path} exists; pass --force (force=True) to replace it')
        except OSError:  # no hard links on this file system
            if path.exists():
                raise FileExistsError(f'{path} exists; pass --force (force=True) to replace it')
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_photo(path: Path, photo: Photo, force: bool = False) -> None:
    """Encode ``photo`` for ``path``'s suffix and write it atomically (see :func:`write_atomic`)."""
    write_atomic(path, encode_photo(photo, Path(path).suffix), force)
