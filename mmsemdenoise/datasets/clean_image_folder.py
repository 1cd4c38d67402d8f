"""A dataset over a folder of clean images, for training and testing denoisers."""
import logging
import os
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import get
from mmengine.logging import print_log
from PIL import Image

from mmsemdenoise.registry import DATASETS
from .verify import BadFilesError, VerifiedFilesMixin, format_bad_files

#: Image extensions searched by default (lower case; matching ignores case).
IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')


@DATASETS.register_module()
class CleanImageFolder(VerifiedFilesMixin, BaseDataset):
    """Clean images found in one folder, sorted by path; no annotations.

    Each data info holds ``img_path`` (the file) and ``img_id``, the file's path relative to
    ``data_root`` with ``/`` separators (relative to the image folder itself when ``data_root``
    is empty or does not contain it), e.g. ``'CBSD68/0001.png'``. ``img_id`` does not depend on
    where the data lives on disk, so it can seed per-image noise reproducibly.

    Several folders are combined with mmengine's ``ConcatDataset``; give them the same
    ``data_root`` so that their ``img_id`` values stay distinct:

    .. code-block:: python

        dataset = dict(
            type='ConcatDataset',
            datasets=[
                dict(type='CleanImageFolder', data_root='data/denoise',
                     data_prefix=dict(img_path=folder), pipeline=pipeline)
                for folder in ('BSD400', 'WaterlooED')
            ])

    Args:
        data_root (str): Root joined with ``data_prefix['img_path']`` when that is relative.
            Defaults to ''.
        data_prefix (dict): ``dict(img_path=folder)``, the folder of clean images.
            Defaults to ``dict(img_path='')``.
        pipeline (list[dict | Callable]): Transforms, e.g. ``LoadImageFromFile`` then a crop
            and a packer. Defaults to ``[]``.
        extensions (Sequence[str]): File extensions to collect, with the dot; matching
            ignores case. Defaults to :data:`IMG_EXTENSIONS`.
        recursive (bool): Whether to search sub-folders too. Defaults to False.
        metainfo (dict, optional): Extra meta information. Defaults to None.
        indices (int | Sequence[int], optional): Keep only these samples (an int keeps the
            first ``indices``). Defaults to None, which keeps all.
        serialize_data (bool): Whether to serialize the data list (shared memory between
            workers). Defaults to True.
        test_mode (bool): Whether the dataset is used for testing. Defaults to False.
        lazy_init (bool): Whether to defer listing the folder to the first access.
            Defaults to False.
        max_refetch (int): Retries when the pipeline returns None. Defaults to 1000.
        verify (str): Check every image once the folder is listed: ``'auto'`` (decode up to
            1000 images, headers and file ends up to 50000), ``'decode'``, ``'header'`` or
            ``'off'``; see :mod:`~mmsemdenoise.datasets.verify`. Defaults to 'auto'.
        on_bad_file (str): ``'error'`` raises one :class:`~mmsemdenoise.datasets.verify.
            BadFilesError` listing every unreadable image; ``'skip'`` leaves them out with a
            logged list, kept in :attr:`skipped_files`. Defaults to 'error'.
        cache_images (bool): Decode every image ONCE, when the dataset is built (after the
            file check), into one contiguous read-only uint8 buffer, :attr:`cache`; each
            sample's data info then carries a view of its image as ``cached_img``, which
            :class:`~mmsemdenoise.datasets.LoadImageFromCache` takes instead of decoding the
            file again for every patch. Decoded like ``LoadImageFromFile``'s defaults
            (mmengine file backend, OpenCV, ``'color'``: uint8 BGR (H, W, 3), 0..255). Costs
            H * W * 3 bytes per image in the process that builds the dataset (BSD400: 400 x
            481 x 321 x 3 = 185 MB); dataloader workers forked after the build (the configs'
            ``mp_start_method='fork'``) share it copy-on-write, as one numpy buffer that no
            reference count touches; under ``'spawn'`` each worker gets a pickled copy, and
            each DDP process holds its own. With ``lazy_init=True`` the cache is built at the
            first access (mmengine's samplers ask for the length when built, in the main
            process). Defaults to False.
        cache_max_gib (float): The largest cache ``cache_images`` may build, in GiB of
            decoded pixels (estimated from the image headers before anything is decoded):
            a folder above it raises a ValueError instead of filling the memory. Defaults to
            16.

    Raises:
        FileNotFoundError: If the folder does not exist or holds no file with one of
            ``extensions`` (raised when the folder is listed).
        BadFilesError: If images cannot be read (``on_bad_file='error'``), or none can;
            with ``cache_images``, also if one passes the check but does not decode.
        ValueError: With ``cache_images``, if the decoded images would exceed
            ``cache_max_gib``.
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix: dict = dict(img_path=''),
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 recursive: bool = False,
                 metainfo: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000,
                 verify: str = 'auto',
                 on_bad_file: str = 'error',
                 cache_images: bool = False,
                 cache_max_gib: float = 16.0) -> None:
        self._init_verification(verify, on_bad_file)
        self.cache_images = bool(cache_images)
        self.cache_max_gib = float(cache_max_gib)
        #: The decoded images, one after another (uint8, flat); None without ``cache_images``.
        self.cache: Optional[np.ndarray] = None
        #: Files decoded into :attr:`cache` by this object (in the process that built it).
        self.num_decoded = 0
        if set(data_prefix) != {'img_path'}:
            raise KeyError(f'CleanImageFolder: data_prefix must be dict(img_path=...), '
                           f'got keys {sorted(data_prefix)}')
        if not extensions:
            raise ValueError('CleanImageFolder: extensions must not be empty')
        self.extensions = tuple(ext.lower() for ext in extensions)
        self.recursive = recursive
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    @property
    def img_dir(self) -> str:
        """str: The image folder, joined with ``data_root``."""
        return self.data_prefix['img_path']

    def load_data_list(self) -> List[dict]:
        """List the image files of :attr:`img_dir`, sorted by path (every entry with an image
        extension that is not a folder: broken links are listed for the file check to name).

        Returns:
            list[dict]: One ``dict(img_path=str, img_id=str)`` per image.
        """
        img_dir = Path(self.img_dir or '.')
        if not img_dir.is_dir():
            raise FileNotFoundError(
                f'CleanImageFolder: image folder {str(img_dir)!r} does not exist '
                f'(data_root={self.data_root!r}, data_prefix={self.data_prefix!r})')
        files = img_dir.rglob('*') if self.recursive else img_dir.iterdir()
        # not only regular files: a symlink loop, a dangling link or an unreadable entry is
        # listed too, so that the file check names it (BadFilesError / on_bad_file='skip')
        # instead of the sample vanishing without a word
        paths = sorted(path for path in files
                       if path.suffix.lower() in self.extensions and not path.is_dir())
        if not paths:
            where = 'or its sub-folders ' if self.recursive else ''
            raise FileNotFoundError(
                f'CleanImageFolder: no image with an extension in {list(self.extensions)} '
                f'found in folder {str(img_dir)!r} {where}(recursive={self.recursive})')
        # ids relative to data_root (or to the folder), independent of the working directory
        folder = Path(osp.abspath(img_dir))
        id_root = Path(osp.abspath(self.data_root)) if self.data_root else folder
        if not folder.is_relative_to(id_root):
            id_root = folder
        return [
            dict(img_path=str(path),
                 img_id=Path(osp.abspath(path)).relative_to(id_root).as_posix())
            for path in paths
        ]

    def full_init(self) -> None:
        """List and check the files, then decode them into :attr:`cache` (``cache_images``)."""
        if self._fully_initialized:
            return
        super().full_init()
        if self.cache_images:
            self._build_cache()

    def _build_cache(self) -> None:
        """Decode every sample's image once into :attr:`cache`; infos get offset and shape.

        Runs after the file check, so with ``on_bad_file='skip'`` the skipped files are not
        decoded. A file that passed the check but does not decode (possible with
        ``verify='header'``/``'off'``) is handled like a bad file: listed in one
        :class:`BadFilesError`, or skipped and added to :attr:`skipped_files`.
        """
        start = time.perf_counter()
        name = type(self).__name__
        num = len(self)
        infos = [self.get_data_info(i) for i in range(num)]
        self._check_cache_size([info['img_path'] for info in infos])

        def decode(path: str) -> Tuple[Optional[np.ndarray], Optional[str]]:
            # LoadImageFromFile's defaults: bytes via mmengine.fileio, cv2, 'color' -> BGR
            try:
                img = mmcv.imfrombytes(get(path), flag='color', backend='cv2')
            except Exception as error:  # noqa: BLE001 (reported below with the file's name)
                return None, (f'cannot decode it for cache_images=True: '
                              f'{type(error).__name__}: {error}')
            if img is None:
                return None, 'OpenCV cannot decode it for cache_images=True'
            return img, None

        with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:  # cv2 releases the GIL
            decoded = list(pool.map(decode, [info['img_path'] for info in infos]))
        bad = [(info['img_path'], reason) for info, (_, reason) in zip(infos, decoded) if reason]
        if bad:
            where = f'(after verify={self.verify!r})'
            if self.on_bad_file == 'error':
                raise BadFilesError(
                    f'{name}: {len(bad)} of {num} files cannot be decoded {where}; fix or remove '
                    f"them, or pass on_bad_file='skip' to leave them out:\n{format_bad_files(bad)}")
            if len(bad) == num:
                raise BadFilesError(f'{name}: none of the {num} files can be decoded {where}:\n'
                                    f'{format_bad_files(bad)}')
            self.skipped_files = self.skipped_files + bad
            print_log(f'{name}: skipped {len(bad)} of {num} samples whose file does not decode '
                      f"(on_bad_file='skip'), {num - len(bad)} left:\n{format_bad_files(bad)}",
                      logger='current', level=logging.WARNING)
        kept = [(info, img) for info, (img, _) in zip(infos, decoded) if img is not None]
        del decoded
        sizes = np.array([img.size for _, img in kept], np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        cache = np.empty(int(sizes.sum()), np.uint8)  # pages committed as they are written
        data_list = []
        for i, offset in enumerate(offsets):
            info, img = kept[i]
            cache[offset:offset + img.size] = img.reshape(-1)
            kept[i] = None  # free each decoded image once copied: peak ~ one cache, not two
            info.pop('sample_idx', None)  # get_data_info adds it back
            info['cache_offset'], info['cache_shape'] = int(offset), tuple(img.shape)
            data_list.append(info)
        cache.flags.writeable = False  # and so every view of it: the pipeline cannot write here
        self.cache, self.num_decoded = cache, self.num_decoded + len(data_list)
        self.data_list = data_list
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        print_log(f'{name}: cached {len(offsets)} images of {self.img_dir!r} '
                  f'({cache.nbytes / 2**20:.1f} MiB uint8) in {time.perf_counter() - start:.1f} s',
                  logger='current')

    def _check_cache_size(self, paths: List[str]) -> None:
        """Refuse, before decoding anything, a cache above ``cache_max_gib``: the decoded
        size (H * W * 3 bytes each) read from the headers of the local files."""
        total = 0
        for path in paths:
            if not osp.isfile(path):  # another file backend: no header without reading it
                continue
            try:
                with Image.open(path) as img:
                    width, height = img.size
            except Exception:  # noqa: BLE001 (the decode step names the file)
                continue
            total += width * height * 3
        if total > self.cache_max_gib * 2**30:
            raise ValueError(
                f'{type(self).__name__}: cache_images=True would hold {total / 2**30:.2f} GiB '
                f'of decoded images of {self.img_dir!r} ({len(paths)} files) in memory, above '
                f'cache_max_gib={self.cache_max_gib:g}; pass cache_images=False (decode the '
                f'file for every sample) or a larger cache_max_gib')

    def get_data_info(self, idx: int) -> dict:
        """The data info of sample ``idx``; with the cache also ``cached_img``.

        Returns:
            dict: ``img_path``, ``img_id``, ``sample_idx`` and, with ``cache_images``,
            ``cached_img``: a read-only uint8 BGR (H, W, 3) view of :attr:`cache` (no copy).
        """
        info = super().get_data_info(idx)
        if self.cache is not None:
            shape, offset = info.pop('cache_shape'), info.pop('cache_offset')
            size = shape[0] * shape[1] * shape[2]
            view = self.cache[offset:offset + size].reshape(shape)
            view.flags.writeable = False  # also where the cache is a (writable) pickled copy
            info['cached_img'] = view
        return info
