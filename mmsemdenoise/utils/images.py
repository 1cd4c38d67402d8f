"""Guards applied to image files: a pixel limit read from the header before decoding, what is
wrong with a path that is not a readable file (symlink loop, dangling link, no permission), and a
JPEG decode that reports a file libjpeg finds cut short.

A few-KB JPEG or PNG can claim 30000 x 30000 pixels in its header; decoding it asks for GiBs
(OpenCV's own limit is 2^30 pixels). As Pillow does with ``Image.MAX_IMAGE_PIXELS``, the size is
read from the header -- without decoding -- and refused above a limit, with the memory it would
take in the message. Pillow's own check (a ``DecompressionBombError`` above twice its limit) is
left on; its message gives the pixel count, which is compared with ours.
"""
import contextlib
import errno
import os
import re
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional, Tuple, Union

import cv2
import numpy as np
from PIL import Image

#: Default pixel limit (width x height) of the tools and the datasets' header check: 200 MP,
#: ~2.2 GiB per float32 RGB copy, which fits a machine with 16 GiB or more.
DEFAULT_MAX_PIXELS = 200_000_000

Source = Union[str, Path, BinaryIO]


class ImageTooLargeError(ValueError):
    """An image's header claims more pixels than the limit (the message names both)."""


def header_pixels(source: Source) -> Optional[int]:
    """Width x height from an image's header, without decoding the pixels.

    Args:
        source (str | Path | file): A file, or its bytes as a file object.

    Returns:
        int | None: The pixel count, or None when Pillow cannot read the header.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
        return width * height
    except Image.DecompressionBombError as error:  # above twice Pillow's limit
        found = re.search(r'\((\d+) pixels\)', str(error))
        return int(found.group(1)) if found else Image.MAX_IMAGE_PIXELS * 2 + 1
    except Exception:  # noqa: BLE001 (no header Pillow reads: the decoder decides)
        return None


def too_large(pixels: Optional[int], max_pixels: Optional[int]) -> Optional[str]:
    """Why ``pixels`` exceeds ``max_pixels`` (None or 0: no limit), with the memory estimate."""
    if not max_pixels or pixels is None or pixels <= max_pixels:
        return None
    return (f'{pixels / 1e6:.1f} megapixels in its header, above the limit of '
            f'{max_pixels / 1e6:g} MP (--max-pixels / max_pixels): decoding it would take '
            f'~{pixels * 3 / 2**30:.1f} GiB as 8-bit RGB and ~{pixels * 12 / 2**30:.1f} GiB per '
            'float32 copy')


def check_pixels(path: Union[str, Path], max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> None:
    """Refuse an image whose header claims more than ``max_pixels`` pixels.

    Raises:
        ImageTooLargeError: Naming the file, its size, the limit and the memory estimate.
    """
    problem = too_large(header_pixels(path), max_pixels)
    if problem:
        raise ImageTooLargeError(f'{path}: {problem}')


def path_problem(path: Union[str, Path]) -> Optional[str]:
    """What keeps ``path`` from being read as a file, or None for a readable regular file.

    Returns:
        str | None: E.g. ``'symlink loop'``, ``'dangling symlink to missing.png'``,
        ``'permission denied'``, ``'not a regular file (a directory)'``.
    """
    path = Path(path)
    try:
        path.stat()
    except OSError as error:
        if error.errno == errno.ELOOP:
            return 'symlink loop (too many levels of symbolic links)'
        if error.errno == errno.ENOENT:
            return (f'dangling symlink to {os.readlink(path)}' if path.is_symlink() else
                    'not a regular file (no such file)')
        if error.errno in (errno.EACCES, errno.EPERM):
            return 'permission denied'
        return f'cannot read it: {error.strerror or error}'
    if path.is_dir():
        return 'not a regular file (a directory)'
    if not path.is_file():
        return 'not a regular file'
    if not os.access(path, os.R_OK):
        return 'permission denied'
    return None


#: One redirection of the process's stderr at a time (see :func:`decoder_messages`).
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def decoder_messages() -> Iterator[List[str]]:
    """Collect what C libraries (OpenCV's libjpeg) write to the process's stderr in the block.

    libjpeg reports a truncated or corrupt JPEG only as a warning on stderr while it decodes
    (and fills the rest with grey). The list yielded gets the text when the block ends; where
    fd 2 cannot be redirected it stays empty. fd 2 belongs to the process: one block at a time
    (a lock), so that threads decoding images cannot restore each other's redirection.
    """
    found: List[str] = []
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    with _STDERR_LOCK, tempfile.TemporaryFile() as capture:
        try:
            saved = os.dup(2)
        except OSError:
            yield found
            return
        os.dup2(capture.fileno(), 2)
        try:
            yield found
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            found.append(capture.read().decode(errors='replace'))


def imdecode_checked(data: np.ndarray,
                     flags: int = cv2.IMREAD_UNCHANGED) -> Tuple[Optional[np.ndarray],
                                                                 Optional[str]]:
    """``cv2.imdecode``, and for a JPEG the problem libjpeg reports while decoding it.

    A JPEG cut short -- also one with an end-of-image marker appended, which passes a check of
    its last bytes -- decodes with a grey remainder and only the warning "Premature end of JPEG
    file" / "Corrupt JPEG data: premature end of data segment" on stderr; that warning makes it
    a problem here. Other decoder messages are passed on to stderr.

    Args:
        data (np.ndarray): The file's bytes (uint8).
        flags (int): OpenCV's imread flags. Defaults to ``cv2.IMREAD_UNCHANGED``.

    Returns:
        tuple: ``(array or None, None)``, or ``(array, 'truncated JPEG (the decoder says: ...)')``.
    """
    if data[:2].tobytes() != b'\xff\xd8':
        return cv2.imdecode(data, flags), None
    with decoder_messages() as messages:
        array = cv2.imdecode(data, flags)
    text = ''.join(messages).strip()
    premature = [line for line in text.splitlines() if 'premature end' in line.lower()]
    if premature:
        return array, f'truncated JPEG (the decoder says: {premature[0].strip()})'
    if text:
        print(text, file=sys.stderr)
    return array, None
