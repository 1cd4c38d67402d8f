"""Building blocks shared by the denoisers: conv(-BN)(-ReLU) and the bottleneck residual block.

Submodules carry names (``conv``, ``bn``, ``relu``) rather than positions, so state-dict keys read
``layers.3.conv.weight`` and weight converters can address them without counting.
"""
from collections import OrderedDict
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn


class ConvBNReLU(nn.Sequential):
    """``Conv2d``, then optional ``BatchNorm2d``, then optional ``ReLU``.

    The convolution has a bias only when there is no batch norm after it: a bias in front of batch
    normalisation is removed again by the mean subtraction and never receives a gradient.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Square kernel size. Defaults to 3.
        stride (int): Stride. Defaults to 1.
        padding (int, optional): Zero padding on each side; ``None`` gives ``kernel_size // 2``
            (same size at stride 1). Defaults to None.
        bn (bool): Add ``BatchNorm2d``. Defaults to True.
        relu (bool): Add ``ReLU``. Defaults to True.

    Shape:
        - Input: :math:`(N, C_{in}, H, W)`.
        - Output: :math:`(N, C_{out}, H', W')`, :math:`H' = \\lfloor (H + 2p - k) / s \\rfloor + 1`.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 3,
                 stride: int = 1,
                 padding: Optional[int] = None,
                 bn: bool = True,
                 relu: bool = True) -> None:
        padding = kernel_size // 2 if padding is None else padding
        layers = OrderedDict(conv=nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=not bn))
        if bn:
            layers['bn'] = nn.BatchNorm2d(out_channels)
        if relu:
            layers['relu'] = nn.ReLU(inplace=True)
        super().__init__(layers)


def plain_conv_stack(in_channels: int,
                     channels: int,
                     out_channels: int,
                     num_layers: int,
                     bn: bool = True) -> nn.Sequential:
    """DnCNN-style stack: conv+ReLU, ``num_layers - 2`` x conv(+BN)+ReLU, conv.

    Args:
        in_channels (int): Input channels of the first convolution.
        channels (int): Feature channels.
        out_channels (int): Output channels of the last convolution.
        num_layers (int): Convolutions in all, >= 2.
        bn (bool): Batch norm in the middle layers (else biased convolutions). Defaults to True.

    Returns:
        nn.Sequential: Layers named ``0 .. num_layers - 1`` (state-dict keys ``i.conv.weight``).
    """
    if num_layers < 2:
        raise ValueError(f'num_layers must be >= 2, got {num_layers}')
    return nn.Sequential(
        ConvBNReLU(in_channels, channels, bn=False),
        *(ConvBNReLU(channels, channels, bn=bn) for _ in range(num_layers - 2)),
        ConvBNReLU(channels, out_channels, bn=False, relu=False))


class BottleneckBlock(nn.Module):
    """ResNet bottleneck residual block (He et al., CVPR 2016) at constant resolution.

    ``1x1 conv (C -> M) + BN + ReLU -> 3x3 conv (M -> M) + BN + ReLU -> 1x1 conv (M -> C) + BN``,
    add the block input, ReLU. The convolutions have no bias (as in the Caffe definition of
    Liu et al.: ``bias_term: false`` followed by BatchNorm + Scale).

    Args:
        channels (int): Input and output channels ``C``.
        mid_channels (int): Bottleneck width ``M``.

    Shape:
        - Input: :math:`(N, C, H, W)`.
        - Output: :math:`(N, C, H, W)`, non-negative.
    """

    def __init__(self, channels: int, mid_channels: int) -> None:
        super().__init__()
        self.reduce = ConvBNReLU(channels, mid_channels, kernel_size=1)
        self.conv = ConvBNReLU(mid_channels, mid_channels, kernel_size=3)
        self.expand = ConvBNReLU(mid_channels, channels, kernel_size=1, relu=False)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x (Tensor): Features of shape (N, C, H, W).

        Returns:
            Tensor: Features of shape (N, C, H, W).
        """
        return F.relu(x + self.expand(self.conv(self.reduce(x))))

