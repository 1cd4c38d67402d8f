"""EfficientNet-Lite0/1/2 as an mmpretrain backbone: small frozen ImageNet classifiers for CPU work.

EfficientNet-Lite (TensorFlow reference: github.com/tensorflow/tpu,
``models/official/efficientnet/lite/efficientnet_lite_builder.py``) is EfficientNet
(Tan & Le, ICML 2019, arXiv 1905.11946) made quantisation-friendly:

* no squeeze-and-excitation in any block;
* ReLU6 instead of Swish;
* when scaling up (Lite1, Lite2, ...): the stem (32 channels) and the head (1280 channels) keep
  their widths, and the first and the last block groups (16 and 320 channels at Lite0) are not
  repeated (``fix_head_stem``); every other width is scaled and rounded to a multiple of 8, every
  other group's repeats multiplied and rounded up, as in EfficientNet.

Everything else is B0: the MBConv blocks (kernel, stride, expansion), batch norm with
``eps=1e-3``, and TensorFlow ``'SAME'`` padding (asymmetric for stride 2, mmcv's
``Conv2dAdaptivePadding``). Inputs are normalised as in the reference: RGB, ``(x - 127) / 128``.

mmpretrain 1.2.0's :class:`mmpretrain.models.EfficientNet` builds the B and EdgeTPU families
only (its ``'l2'`` is the large EfficientNet-L2, not Lite) and always adds SE to the B blocks.
This class reuses its builder unchanged and hands it a layer table of its own: B0's table
without SE, scaled here by the Lite rule (:func:`lite_layer_table`), with the parent's scaling
factors set to 1. The blocks are mmpretrain's own ``InvertedResidual`` modules and the
state-dict layout is mmpretrain's
(``layers.{stage}.{block}.{expand_conv,depthwise_conv,linear_conv}.{conv,bn}``).
"""
import copy
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmpretrain.models.backbones import EfficientNet
from mmpretrain.models.utils import make_divisible

from mmsemdenoise.registry import MODELS

# mmpretrain's block rows: [kernel, out_channels, se_ratio, stride, expand_ratio, block_type]
_OUT, _SE_RATIO = 1, 2
#: TF efficientnet_lite_builder: (width factor, depth factor, resolution)
LITE_ARCHS: Dict[str, Tuple[float, float, int]] = {
    'l0': (1.0, 1.0, 224), 'l1': (1.0, 1.1, 240), 'l2': (1.1, 1.2, 260)}


def _without_se(layers: List[List[List[int]]]) -> List[List[List[int]]]:
    """Copy of an mmpretrain layer table with every block's SE ratio set to 0 (no SE layer)."""
    return [[[*row[:_SE_RATIO], 0, *row[_SE_RATIO + 1:]] for row in layer] for layer in layers]


def _groups(stage: List[List[int]]) -> List[List[List[int]]]:
    """Split a stage into block groups of one output width (TF's ``blocks_args``)."""
    groups: List[List[List[int]]] = []
    for row in stage:
        if groups and groups[-1][-1][_OUT] == row[_OUT]:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def lite_layer_table(width: float, depth: float) -> List[List[List[int]]]:
    """B0's mmpretrain layer table without SE, scaled as EfficientNet-Lite scales it.

    Block widths are multiplied by ``width`` and rounded to a multiple of 8 (never below 90 %);
    each block group's repeats are multiplied by ``depth`` and rounded up, except the first and
    the last group (kept at one block); the stem and head rows are not changed. A repeated group
    is its first block followed by copies of its last (stride 1) block; the middle groups of B0
    all have two or more blocks.

    Args:
        width (float): Width factor (1.0 for Lite0/Lite1, 1.1 for Lite2).
        depth (float): Depth factor (1.0, 1.1, 1.2 for Lite0/1/2).

    Returns:
        list: mmpretrain's layer table (stem row, 5 stages of block rows, head row).
    """
    base = _without_se(EfficientNet.layer_settings['b'])
    groups = [group for stage in base[1:-1] for group in _groups(stage)]
    table = [copy.deepcopy(base[0])]
    for index, group in enumerate(groups):
        repeats = len(group)
        if 0 < index < len(groups) - 1:
            repeats = int(math.ceil(depth * repeats))
        rows = [list(group[0])] + [list(group[-1]) for _ in range(repeats - 1)]
        for row in rows:
            row[_OUT] = make_divisible(row[_OUT] * width, 8)
        if rows[0][3] == 1 and index > 0:  # stride 1: continues the stage before
            table[-1] += rows
        else:
            table.append(rows)
    table.append(copy.deepcopy(base[-1]))
    return table


@MODELS.register_module()
class EfficientNetLite(EfficientNet):
    """EfficientNet-Lite0/1/2 backbone (no SE, ReLU6, TF 'SAME' padding, BN eps 1e-3).

    Stages (``out_indices`` counts them like mmpretrain's EfficientNet), Lite0 / Lite1 / Lite2:
    0 stem conv (32 ch, stride 2); 1 one block (16 ch); 2 (24 ch, /4) 2 / 3 / 3 blocks; 3 (40, 40,
    48 ch, /8) 2 / 3 / 3 blocks; 4 (80 then 112, 80 then 112, 88 then 120 ch, /16) 6 / 8 / 8
    blocks; 5 (192 then 320, 192 then 320, 208 then 352 ch, /32) 5 / 6 / 6 blocks; 6 the 1x1 head
    conv (1280 ch, /32). Parameters without / with the 1000-class linear head: Lite0 3,371,008 /
    4,652,008; Lite1 4,135,680 / 5,416,680; Lite2 4,811,072 / 6,092,072.

    Args:
        arch (str): ``'l0'``, ``'l1'`` or ``'l2'``. Defaults to 'l0'.
        drop_path_rate (float): Stochastic depth rate (training only). Defaults to 0.
        out_indices (Sequence[int]): Stages whose outputs :meth:`forward` returns.
            Defaults to (6,), the 1280-channel head features.
        frozen_stages (int): Stages to freeze (parameters fixed, eval mode). Defaults to 0.
        act_cfg (dict): Activation. Defaults to ReLU6, as in the reference.
        norm_eval (bool): Keep batch norms in eval mode while training. Defaults to False.
        with_cp (bool): Gradient checkpointing in the blocks. Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation; mmpretrain's default
            (Kaiming convs, unit batch norms) when None. Defaults to None.

    Input: (N, 3, H, W) float, normalised RGB (``(x - 127) / 128`` for the released weights);
    the reference resolutions are 224 / 240 / 260 (:data:`LITE_ARCHS`).
    Output: a tuple with one (N, C_i, H / s_i, W / s_i) tensor per ``out_indices`` entry (for
    224x224 inputs the head features are (N, 1280, 7, 7)).

    Example:
        >>> import torch
        >>> net = EfficientNetLite(out_indices=(3, 6)).eval()
        >>> [tuple(f.shape) for f in net(torch.rand(1, 3, 224, 224))]
        [(1, 40, 28, 28), (1, 1280, 7, 7)]
    """

    # The parent builds ``self.layer_settings[arch[0]]`` scaled by ``self.arch_settings[arch]``
    # (and reads table 'b' for arch 'l2'); it is given arch 'lite<k>', the table 'l' of this
    # instance (already scaled, see __init__) and factors (1, 1), so it scales nothing itself.
    layer_settings = {**EfficientNet.layer_settings, 'l': lite_layer_table(1.0, 1.0)}
    arch_settings: Dict[str, Tuple[float, float, int]] = {
        f'lite{arch[1:]}': (1.0, 1.0, resolution)
        for arch, (_, _, resolution) in LITE_ARCHS.items()}

    def __init__(self,
                 arch: str = 'l0',
                 drop_path_rate: float = 0.,
                 out_indices: Sequence[int] = (6, ),
                 frozen_stages: int = 0,
                 act_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if arch not in LITE_ARCHS:
            raise ValueError(f'EfficientNetLite: arch must be one of {sorted(LITE_ARCHS)}, '
                             f'got {arch!r}')
        if init_cfg is None:  # mmpretrain EfficientNet's default
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', layer=['_BatchNorm', 'GroupNorm'], val=1)]
        width, depth, _ = LITE_ARCHS[arch]
        # an instance attribute, read by the parent's __init__ in place of the class table
        object.__setattr__(self, 'layer_settings',
                           {**self.layer_settings, 'l': lite_layer_table(width, depth)})
        super().__init__(
            arch=f'lite{arch[1:]}',
            drop_path_rate=drop_path_rate,
            out_indices=tuple(out_indices),
            frozen_stages=frozen_stages,
            conv_cfg=dict(type='Conv2dAdaptivePadding'),
            norm_cfg=dict(type='BN', eps=1e-3),
            act_cfg=dict(type='ReLU6') if act_cfg is None else act_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            init_cfg=init_cfg)
        self.arch = arch

    def train(self, mode: bool = True) -> 'EfficientNetLite':
        """Set the training mode (keeping frozen stages and ``norm_eval`` BNs in eval mode).

        Unlike the parent's, returns ``self``, so ``net.eval()`` can be chained.
        """
        super().train(mode)
        return self
