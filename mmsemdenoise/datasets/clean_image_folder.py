"""A dataset over a folder of clean images, for training and testing denoisers."""
import os.path as osp
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from mmsemdenoise.registry import DATASETS
from .verify import VerifiedFilesMixin

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

    Raises:
        FileNotFoundError: If the folder does not exist or holds no file with one of
            ``extensions`` (raised when the folder is listed).
        BadFilesError: If images cannot be read (``on_bad_file='error'``), or none can.
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
                 on_bad_file: str = 'error') -> None:
        self._init_verification(verify, on_bad_file)
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
        """List the image files of :attr:`img_dir`, sorted by path.

        Returns:
            list[dict]: One ``dict(img_path=str, img_id=str)`` per image.
        """
        img_dir = Path(self.img_dir or '.')
        if not img_dir.is_dir():
            raise FileNotFoundError(
                f'CleanImageFolder: image folder {str(img_dir)!r} does not exist '
                f'(data_root={self.data_root!r}, data_prefix={self.data_prefix!r})')
        files = img_dir.rglob('*') if self.recursive else img_dir.iterdir()
        paths = sorted(path for path in files
                       if path.is_file() and path.suffix.lower() in self.extensions)
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
