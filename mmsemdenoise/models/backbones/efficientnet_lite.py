"""EfficientNet-Lite0 as an mmpretrain backbone: a small frozen ImageNet classifier for CPU work.

EfficientNet-Lite (TensorFlow reference: github.com/tensorflow/tpu,
``models/official/efficientnet/lite/efficientnet_lite_builder.py``) is EfficientNet-B0
(Tan & Le, ICML 2019, arXiv 1905.11946) made quantisation-friendly:

* no squeeze-and-excitation in any block;
* ReLU6 instead of Swish;
* stem (32 channels) and head (1280 channels) kept fixed when scaling, and the first and last
  stages not repeated (irrelevant for Lite0, whose width and depth factors are 1.0).

Everything else is B0: the same 16 MBConv blocks (kernel, stride, expansion, widths), batch norm
with ``eps=1e-3``, and TensorFlow ``'SAME'`` padding (asymmetric for stride 2, mmcv's
``Conv2dAdaptivePadding``). Inputs are normalised as in the reference: RGB, ``(x - 127) / 128``.

mmpretrain 1.2.0's :class:`mmpretrain.models.EfficientNet` builds the B and EdgeTPU families
only (its ``'l2'`` is the large EfficientNet-L2, not Lite) and always adds SE to the B blocks.
This class reuses its builder unchanged and adds one layer table, the B0 table without SE, so the
blocks are mmpretrain's own ``InvertedResidual`` modules and the state-dict layout is
mmpretrain's (``layers.{stage}.{block}.{expand_conv,depthwise_conv,linear_conv}.{conv,bn}``).
Only Lite0 is provided: it is the only variant whose weights we can check, and the scaled
variants need the fixed stem/head rule that mmpretrain's scaling does not implement.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmpretrain.models.backbones import EfficientNet

from mmsemdenoise.registry import MODELS

# mmpretrain's block rows: [kernel, out_channels, se_ratio, stride, expand_ratio, block_type]
_SE_RATIO = 2


def _without_se(layers: List[List[List[int]]]) -> List[List[List[int]]]:
    """Copy of an mmpretrain layer table with every block's SE ratio set to 0 (no SE layer)."""
    return [[[*row[:_SE_RATIO], 0, *row[_SE_RATIO + 1:]] for row in layer] for layer in layers]


@MODELS.register_module()
class EfficientNetLite(EfficientNet):
    """EfficientNet-Lite0 backbone (no SE, ReLU6, TF 'SAME' padding, BN eps 1e-3).

    Stages (``out_indices`` counts them like mmpretrain's EfficientNet): 0 stem conv (32 ch,
    stride 2); 1 one block (16 ch); 2 two blocks (24 ch, /4); 3 two blocks (40 ch, /8); 4 six
    blocks (80 then 112 ch, /16); 5 five blocks (192 then 320 ch, /32); 6 the 1x1 head conv
    (1280 ch, /32). 3,371,008 parameters (4,652,008 with the 1000-class linear head).

    Args:
        arch (str): Only ``'l0'``. Defaults to 'l0'.
        drop_path_rate (float): Stochastic depth rate (training only). Defaults to 0.
        out_indices (Sequence[int]): Stages whose outputs :meth:`forward` returns.
            Defaults to (6,), the 1280-channel head features.
        frozen_stages (int): Stages to freeze (parameters fixed, eval mode). Defaults to 0.
        act_cfg (dict): Activation. Defaults to ReLU6, as in the reference.
        norm_eval (bool): Keep batch norms in eval mode while training. Defaults to False.
        with_cp (bool): Gradient checkpointing in the blocks. Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation; mmpretrain's default
            (Kaiming convs, unit batch norms) when None. Defaults to None.

    Input: (N, 3, H, W) float, normalised RGB (``(x - 127) / 128`` for the released weights).
    Output: a tuple with one (N, C_i, H / s_i, W / s_i) tensor per ``out_indices`` entry (for
    224x224 inputs the head features are (N, 1280, 7, 7)).

    Example:
        >>> import torch
        >>> net = EfficientNetLite(out_indices=(3, 6)).eval()
        >>> [tuple(f.shape) for f in net(torch.rand(1, 3, 224, 224))]
        [(1, 40, 28, 28), (1, 1280, 7, 7)]
    """

    layer_settings = {**EfficientNet.layer_settings,
                      'l': _without_se(EfficientNet.layer_settings['b'])}
    # (width factor, depth factor, resolution); the parent picks layer_settings[arch[0]]
    arch_settings: Dict[str, Tuple[float, float, int]] = {'l0': (1.0, 1.0, 224)}

    def __init__(self,
                 arch: str = 'l0',
                 drop_path_rate: float = 0.,
                 out_indices: Sequence[int] = (6, ),
                 frozen_stages: int = 0,
                 act_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if arch not in self.arch_settings:
            raise ValueError(f'EfficientNetLite: arch must be one of {sorted(self.arch_settings)}'
                             f', got {arch!r}')
        if init_cfg is None:  # mmpretrain EfficientNet's default
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', layer=['_BatchNorm', 'GroupNorm'], val=1)]
        super().__init__(
            arch=arch,
            drop_path_rate=drop_path_rate,
            out_indices=tuple(out_indices),
            frozen_stages=frozen_stages,
            conv_cfg=dict(type='Conv2dAdaptivePadding'),
            norm_cfg=dict(type='BN', eps=1e-3),
            act_cfg=dict(type='ReLU6') if act_cfg is None else act_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            init_cfg=init_cfg)

    def train(self, mode: bool = True) -> 'EfficientNetLite':
        """Set the training mode (keeping frozen stages and ``norm_eval`` BNs in eval mode).

        Unlike the parent's, returns ``self``, so ``net.eval()`` can be chained.
        """
        super().train(mode)
        return self
