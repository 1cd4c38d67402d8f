"""DnCNN: a plain stack of 3x3 convolutions that predicts the noise (residual learning).

Paper: K. Zhang, W. Zuo, Y. Chen, D. Meng, L. Zhang, "Beyond a Gaussian Denoiser: Residual Learning
of Deep CNN for Image Denoising", IEEE TIP 2017. Source: github.com/cszn/DnCNN (MatConvNet).
"""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor

from mmsemdenoise.registry import MODELS
from .blocks import plain_conv_stack
from .checks import check_noisy


@MODELS.register_module()
class DnCNN(BaseModule):
    """DnCNN: conv + ReLU, ``num_layers - 2`` x (conv + BN + ReLU), conv; output = noisy - noise.

    All convolutions are 3x3 with zero padding 1, so the output has the input's size. Layer ``i``
    is ``layers[i]`` (a :class:`ConvBNReLU`), so its kernel is ``layers.{i}.conv.weight``.

    The paper trains 17 layers for a known sigma (DnCNN-S) and 20 for blind and colour models;
    the released colour weights (``CDnCNN_color_sigma{15,25,50}.mat``, ``CDnCNN_B_color_blind.mat``)
    have 20 layers with batch norm folded into the convolutions: load them into
    ``DnCNN(num_layers=20, bn=False)`` (see :mod:`..converters.matlab_weights`).

    Args:
        in_channels (int): Image channels (3 for colour). Defaults to 3.
        channels (int): Feature channels. Defaults to 64.
        num_layers (int): Convolution layers, >= 2. Defaults to 17.
        bn (bool): Batch norm in the middle layers; False gives biased convolutions instead
            (folded batch norm, as in the released weights). Defaults to True.
        init_cfg (dict or list[dict], optional): mmengine initialisation, e.g.
            ``dict(type='Pretrained', checkpoint='cdncnn_sigma25.pth')``. Defaults to None.
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: int = 64,
                 num_layers: int = 17,
                 bn: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.layers = plain_conv_stack(in_channels, channels, in_channels, num_layers, bn)

    def forward(self, noisy: Tensor, noise_level: Optional[Tensor] = None) -> Tensor:
        """Denoise a batch.

        Args:
            noisy (Tensor): Noisy images (N, C, H, W), nominally in [0, 1].
            noise_level (Tensor, optional): Ignored (DnCNN is trained for one sigma or blind);
                accepted for the common denoiser interface. Defaults to None.

        Returns:
            Tensor: Denoised images (N, C, H, W), not clamped. Any H, W >= 1.

        Raises:
            ValueError: If ``noisy`` is not a non-empty float batch of ``in_channels`` images.
        """
        check_noisy(noisy, self.in_channels, self)
        return noisy - self.layers(noisy)
