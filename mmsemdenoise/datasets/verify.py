"""Find unreadable image files when a dataset is built, not hours into training.

A dataset that mixes in :class:`VerifiedFilesMixin` checks the files of every sample once, at the
end of ``full_init`` (after listing, filtering and ``indices``), and then either raises ONE
:class:`BadFilesError` listing every bad file with its reason (``on_bad_file='error'``) or drops
the samples with a logged list (``on_bad_file='skip'``), kept as ``dataset.skipped_files`` so that
evaluation can report them (:func:`skipped_files`, :class:`~mmsemdenoise.engine.SkippedFilesHook`).

Checks (``verify=``), measured on one busy core of this machine (ms per file, files in the page
cache; ``cv2.imdecode`` / ``PIL.Image.load`` / ``PIL.Image.open``):

============================  =========  ========  ========
files                         cv2 full   PIL full  header
============================  =========  ========  ========
BSD400 JPEG 481x321           5.3        4.2       0.3
CamVid PNG 480x360            14.0       15.7      0.3
CamVid label PNG              2.3        2.3       0.1
============================  =========  ========  ========

* ``'header'``: read the bytes; PIL must identify an image format with a non-empty size
  (catches empty files, text, random bytes, wrong magic numbers), and the end of a JPEG / PNG
  must be there: an end-of-image marker after the last scan of a JPEG, an ``IEND`` chunk after
  the last ``IDAT`` of a PNG (catches truncated files). Formats other than these two, BMP, TIFF,
  PPM and WebP are decoded with OpenCV instead.
* ``'decode'``: the header checks, then a full decode with the library the pipeline uses for
  that file -- ``cv2.imdecode`` for images (mmcv's ``LoadImageFromFile``), PIL for label maps
  (mmseg's ``LoadAnnotations``) -- so a file that passes is one the pipeline can load (catches
  garbage after a valid header too).
* ``'auto'`` (the default): ``'decode'`` for up to :data:`AUTO_DECODE_LIMIT` samples,
  ``'header'`` up to :data:`AUTO_HEADER_LIMIT`, nothing above (logged); only on local disk.
* ``'off'``: no check.

Every mode (but ``'off'``) also refuses, from the header and before decoding, an image of more
than ``max_pixels`` pixels (:data:`~mmsemdenoise.utils.images.DEFAULT_MAX_PIXELS`, 200 MP: a
few-KB file can claim 30000 x 30000), and names a path that is a symlink loop, a dangling link or
unreadable.

The content decides, not the extension: a PNG named ``.jpg`` is a valid image (OpenCV and PIL
sniff the format, as the loaders do), so it passes. Not found by any mode: a JPEG whose headers
are intact but whose compressed data is garbage; libjpeg decodes it to a noisy picture with a
"Corrupt JPEG data" warning on stderr, in the check and in the pipeline alike.
"""
import io
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.fileio import get
from mmengine.logging import print_log

from mmsemdenoise.utils.images import (DEFAULT_MAX_PIXELS, header_pixels, imdecode_checked,
                                       path_problem, too_large)

VERIFY_MODES = ('auto', 'decode', 'header', 'off')
ON_BAD_FILE = ('error', 'skip')
#: ``verify='auto'`` decodes every file of datasets up to this many samples (~2 s for BSD400's
#: 400 JPEGs, ~6 s for CamVid's 367 image/label pairs on one busy core).
AUTO_DECODE_LIMIT = 1000
#: ``verify='auto'`` checks headers and file ends up to this many samples (~0.3 ms a file).
AUTO_HEADER_LIMIT = 50000
#: PIL format names whose header check needs no decode (OpenCV reads them all).
HEADER_FORMATS = ('BMP', 'JPEG', 'MPO', 'PNG', 'PPM', 'TIFF', 'WEBP')
#: Leading bytes of the common formats, to name the format of a file whose header is broken.
MAGIC_NUMBERS = ((b'\xff\xd8\xff', 'JPEG'), (b'\x89PNG\r\n\x1a\n', 'PNG'), (b'BM', 'BMP'),
                 (b'II*\x00', 'TIFF'), (b'MM\x00*', 'TIFF'), (b'RIFF', 'WebP'))
#: Decoders of :func:`check_image`: OpenCV (mmcv's image loader), PIL (mmseg's label loader).
DECODERS = ('cv2', 'pillow')

#: ``(height, width, channels)`` of a readable image.
Shape = Tuple[int, int, int]


class BadFilesError(ValueError):
    """Files of a dataset cannot be read; the message lists every one with its reason."""


def _structure_problem(data: bytes, image_format: str) -> Optional[str]:
    """Why a JPEG / PNG byte string is incomplete, or None."""
    if image_format in ('JPEG', 'MPO'):
        # byte stuffing keeps 0xFFD9 out of entropy-coded data; an EXIF thumbnail's markers
        # come before the main image's scans, so rfind looks at the main image
        if data.rfind(b'\xff\xd9') < data.rfind(b'\xff\xda'):
            return f'truncated JPEG: no end-of-image marker after the last scan ({len(data)} bytes)'
    elif image_format == 'PNG' and data.rfind(b'IEND') < data.rfind(b'IDAT'):
        return f'truncated PNG: no IEND chunk after the image data ({len(data)} bytes)'
    return None


def check_image(path: str,
                mode: str = 'decode',
                backend_args: Optional[dict] = None,
                decoder: str = 'cv2',
                max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> Tuple[Optional[Shape],
                                                                        Optional[str]]:
    """Check that one file is a complete, decodable image.

    Args:
        path (str): The file (any mmengine file backend).
        mode (str): ``'header'`` or ``'decode'`` (see the module docstring). Defaults to 'decode'.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
        decoder (str): The library the pipeline decodes this file with: ``'cv2'`` (mmcv's
            ``LoadImageFromFile``) or ``'pillow'`` (mmseg's ``LoadAnnotations``). Defaults to
            'cv2'.
        max_pixels (int, optional): Refuse images whose header claims more pixels (None or 0:
            no limit). Defaults to 200 MP.

    Returns:
        tuple: ``(shape, None)`` for a good file, shape ``(H, W, C)``; ``(None, reason)`` else.
    """
    if mode not in ('header', 'decode') or decoder not in DECODERS:
        raise ValueError(f"check_image: mode must be 'header' or 'decode' and decoder one of "
                         f'{DECODERS}, got {mode!r}, {decoder!r}')
    try:
        data = get(path, backend_args=backend_args)
    except (OSError, ValueError) as error:
        problem = path_problem(path) if '://' not in str(path) else None
        return None, problem or f'cannot read the file: {error}'
    if not data:
        return None, 'empty file (0 bytes)'
    from PIL import Image, UnidentifiedImageError
    problem = too_large(header_pixels(io.BytesIO(data)), max_pixels)
    if problem:
        return None, f'image too large: {problem}'
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, (width, height) = image.format, image.size
            shape = (height, width, len(image.getbands()))
    except UnidentifiedImageError:
        claimed = next((fmt for magic, fmt in MAGIC_NUMBERS if data.startswith(magic)), None)
        if claimed:
            return None, (f'broken {claimed}: it starts like one, but its header cannot be read '
                          f'({len(data)} bytes)')
        return None, f'not an image: no known image format (file starts with {data[:16]!r})'
    except Exception as error:  # PIL raises many types for broken headers
        return None, f'broken image header: {type(error).__name__}: {error}'
    if width < 1 or height < 1:
        return None, f'empty image ({width} x {height} pixels)'
    problem = _structure_problem(data, image_format)
    if problem:
        return None, problem
    if mode == 'decode' and decoder == 'pillow':
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
        except Exception as error:
            return None, f'broken image data: {type(error).__name__}: {error}'
    if decoder == 'pillow' or (mode == 'header' and image_format in HEADER_FORMATS):
        return shape, None
    try:
        array, problem = imdecode_checked(np.frombuffer(data, np.uint8))
    except cv2.error as error:
        array, reason = None, f': {str(error).strip()}'
    else:
        reason = ''
        if problem:
            return None, problem
    if array is None:
        return None, f'OpenCV cannot decode this {image_format} file{reason}'
    return (array.shape[0], array.shape[1], 1 if array.ndim == 2 else array.shape[2]), None


def check_images(files: Sequence[Tuple[str, str]],
                 mode: str = 'decode',
                 backend_args: Optional[dict] = None,
                 num_threads: Optional[int] = None) -> List[Tuple[Optional[Shape], Optional[str]]]:
    """:func:`check_image` on many files, in threads (the decoders release the GIL).

    Args:
        files (Sequence[tuple[str, str]]): ``(path, decoder)`` pairs.
        mode (str): ``'header'`` or ``'decode'``. Defaults to 'decode'.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
        num_threads (int, optional): Threads; defaults to ``min(8, os.cpu_count())``.

    Returns:
        list[tuple]: One ``(shape, reason)`` per file, in order.
    """
    num_threads = num_threads or min(8, os.cpu_count() or 1)

    def check(file: Tuple[str, str]) -> Tuple[Optional[Shape], Optional[str]]:
        return check_image(file[0], mode, backend_args, decoder=file[1])

    if num_threads == 1 or len(files) < 2:
        return [check(f) for f in files]
    with ThreadPoolExecutor(num_threads) as pool:
        return list(pool.map(check, files))


def resolve_mode(verify: str, num_samples: int, local: bool = True) -> str:
    """The check that ``verify`` means for a dataset of ``num_samples`` samples.

    Args:
        verify (str): One of :data:`VERIFY_MODES`.
        num_samples (int): Samples in the dataset.
        local (bool): Whether the files are on local disk (``'auto'`` checks nothing else).
            Defaults to True.

    Returns:
        str: ``'decode'``, ``'header'`` or ``'off'``.
    """
    if verify != 'auto':
        return verify
    if not local:
        return 'off'
    if num_samples <= AUTO_DECODE_LIMIT:
        return 'decode'
    return 'header' if num_samples <= AUTO_HEADER_LIMIT else 'off'


def format_bad_files(bad: Sequence[Tuple[str, str]]) -> str:
    """One ``path: reason`` line per bad file."""
    return '\n'.join(f'  {path}: {reason}' for path, reason in bad)


class VerifiedFilesMixin:
    """Mix into an mmengine ``BaseDataset`` (before it) to check its files in ``full_init``.

    The dataset sets :attr:`verify_keys` (data-info key holding a file path -> the decoder its
    pipeline uses, see :func:`check_image`) and calls
    :meth:`_init_verification` before ``BaseDataset.__init__``; it may override
    :meth:`check_sample` for checks across the files of one sample (e.g. image and label sizes).

    Attributes:
        skipped_files (list[tuple[str, str]]): ``(path, reason)`` of every file whose sample
            was dropped (``on_bad_file='skip'``); empty otherwise.
        verified_with (str): The check that ran: ``'decode'``, ``'header'`` or ``'off'``.
    """

    verify_keys: Dict[str, str] = {'img_path': 'cv2'}

    def _init_verification(self, verify: str, on_bad_file: str,
                           backend_args: Optional[dict] = None) -> None:
        name = type(self).__name__
        if verify not in VERIFY_MODES:
            raise ValueError(f'{name}: verify must be one of {VERIFY_MODES}, got {verify!r}')
        if on_bad_file not in ON_BAD_FILE:
            raise ValueError(f'{name}: on_bad_file must be one of {ON_BAD_FILE}, '
                             f'got {on_bad_file!r}')
        self.verify, self.on_bad_file = verify, on_bad_file
        self._verify_backend_args = backend_args
        self.skipped_files: List[Tuple[str, str]] = []
        self.verified_with = 'off'

    def check_sample(self, info: dict, shapes: Dict[str, Shape]) -> Optional[str]:
        """A problem across the files of one sample (all of them readable), or None.

        Args:
            info (dict): The sample's data info.
            shapes (dict[str, tuple]): ``verify_key -> (H, W, C)`` of its files.

        Returns:
            str, optional: The reason, reported against the sample's first file.
        """
        return None

    def full_init(self) -> None:
        """``BaseDataset.full_init``, then the file check of :meth:`verify_files`."""
        if self._fully_initialized:
            return
        super().full_init()
        self.verify_files()

    def verify_files(self) -> None:
        """Check every sample's files; raise :class:`BadFilesError` or drop the bad samples.

        Raises:
            BadFilesError: With ``on_bad_file='error'``, listing every bad file; with
                ``'skip'``, when no sample is left.
        """
        name = type(self).__name__
        num = len(self)
        mode = resolve_mode(self.verify, num, local=self._verify_backend_args is None)
        self.verified_with = mode
        if mode == 'off':
            if self.verify == 'auto':
                print_log(f'{name}: {num} samples, more than verify="auto" checks '
                          f'({AUTO_HEADER_LIMIT}) or not on local disk: files not verified '
                          "(verify='header' or 'decode' checks them)", logger='current')
            return
        start = time.perf_counter()
        infos = [self.get_data_info(i) for i in range(num)]
        paths = [(i, key, info[key]) for i, info in enumerate(infos)
                 for key in self.verify_keys if info.get(key)]
        results = check_images([(p, self.verify_keys[key]) for _, key, p in paths], mode,
                               self._verify_backend_args)
        bad: Dict[int, List[Tuple[str, str]]] = {}
        shapes: Dict[int, Dict[str, Shape]] = {}
        for (i, key, path), (shape, reason) in zip(paths, results):
            if reason:
                bad.setdefault(i, []).append((path, reason))
            else:
                shapes.setdefault(i, {})[key] = shape
        for i, info in enumerate(infos):
            if i not in bad:
                reason = self.check_sample(info, shapes.get(i, {}))
                if reason:
                    bad[i] = [(info[next(iter(self.verify_keys))], reason)]
        listed = [item for i in sorted(bad) for item in bad[i]]
        seconds = time.perf_counter() - start
        print_log(f'{name}: checked {len(paths)} files of {num} samples ({mode}) in '
                  f'{seconds:.1f} s: {len(listed)} bad', logger='current', level=logging.DEBUG)
        if not bad:
            return
        where = (f'(verify={mode!r})' if self.verify == mode else
                 f'(verify={self.verify!r}: {mode!r})')
        if self.on_bad_file == 'error':
            raise BadFilesError(
                f'{name}: {len(listed)} unreadable file(s) in {len(bad)} of {num} samples '
                f"{where}; fix or remove them, or pass on_bad_file='skip' to leave them out:\n"
                f'{format_bad_files(listed)}')
        if len(bad) == num:
            raise BadFilesError(f'{name}: every one of the {num} samples has an unreadable file '
                                f'{where}:\n{format_bad_files(listed)}')
        self.skipped_files = listed
        self.get_subset_([i for i in range(num) if i not in bad])
        print_log(f'{name}: skipped {len(bad)} of {num} samples with unreadable files '
                  f"(on_bad_file='skip'), {len(self)} left:\n{format_bad_files(listed)}",
                  logger='current', level=logging.WARNING)


def skipped_files(dataset) -> List[Tuple[str, str]]:
    """``(path, reason)`` of the files a dataset (or mmengine dataset wrapper) left out.

    Walks ``ConcatDataset.datasets`` and the ``dataset`` of ``RepeatDataset`` /
    ``ClassBalancedDataset``; datasets without file verification contribute nothing.

    Args:
        dataset: A dataset or dataset wrapper.

    Returns:
        list[tuple[str, str]]: The skipped files, in dataset order.
    """
    found = list(getattr(dataset, 'skipped_files', []) or [])
    for child in getattr(dataset, 'datasets', None) or []:
        found += skipped_files(child)
    inner = getattr(dataset, 'dataset', None)
    if inner is not None and inner is not dataset:
        found += skipped_files(inner)
    return found
