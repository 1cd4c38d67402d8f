"""FFDNet: a non-blind CNN denoiser on 2x2 sub-images with a noise-level map as extra input.

Paper: K. Zhang, W. Zuo, L. Zhang, "FFDNet: Toward a Fast and Flexible Solution for CNN-Based
Image Denoising", IEEE TIP 2018. Source: github.com/cszn/FFDNet (MatConvNet, ``FFDNet_color.mat``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmsemdenoise.registry import MODELS
from .blocks import plain_conv_stack
from .checks import check_noisy


def noise_level_map(noise_level: Tensor, reference: Tensor) -> Tensor:
    """Broadcast per-image noise levels to a one-channel map shaped like ``reference``.

    Args:
        noise_level (Tensor): Noise standard deviations in [0, 1] units (sigma / 255), shape (N,),
            or one value for the whole batch.
        reference (Tensor): Tensor (N, C, H, W) whose batch size, size, device and dtype the map
            takes.

    Returns:
        Tensor: Map of shape (N, 1, H, W).

    Raises:
        ValueError: If ``noise_level`` has neither N values nor one.
    """
    n, _, h, w = reference.shape
    # a tensor stays a tensor (torch.as_tensor would make it a constant of a traced graph)
    sigma = noise_level if isinstance(noise_level, Tensor) else torch.as_tensor(noise_level)
    sigma = sigma.to(device=reference.device, dtype=reference.dtype)
    if sigma.numel() not in (1, n):
        raise ValueError(f'noise_level must have shape (N,) = ({n},) or hold one value, '
                         f'got shape {tuple(sigma.shape)}')
    return sigma.reshape(-1, 1, 1, 1).expand(n, 1, h, w)


@MODELS.register_module()
class FFDNet(BaseModule):
    """FFDNet: pixel-unshuffle 2x2, concat a noise-level map, conv stack, pixel-shuffle back.

    Steps: odd H or W is made even by repeating the last row/column (as the MATLAB demo does;
    done without a branch on the size, so a traced or ONNX-exported network takes any size);
    ``pixel_unshuffle`` turns (N, C, H, W) into (N, 4C, H/2, W/2); one channel holding sigma is
    appended (4C + 1 = 13 for colour; the released colour model takes a single-channel map, not
    one per colour channel); ``num_layers`` 3x3 convolutions (conv + ReLU, conv + BN + ReLU, ...,
    conv) give 4C channels; ``pixel_shuffle`` restores (N, C, H, W), which is cropped back. The
    network predicts the clean image directly (no residual).

    The colour model has 12 layers of 96 channels (the grey one 15 of 64). The released weights
    fold batch norm into the convolutions: load them into ``FFDNet(bn=False)`` (see
    :mod:`..converters.matlab_weights`, which also reorders MatConvNet's sub-pixel channels).

    Args:
        in_channels (int): Image channels. Defaults to 3.
        channels (int): Feature channels. Defaults to 96.
        num_layers (int): Convolution layers, >= 2. Defaults to 12.
        bn (bool): Batch norm in the middle layers; False gives biased convolutions (folded batch
            norm, as in the released weights). Defaults to True.
        init_cfg (dict or list[dict], optional): mmengine initialisation, e.g.
            ``dict(type='Pretrained', checkpoint='ffdnet_color.pth')``. Defaults to None.
    """

    #: ``forward`` requires ``noise_level`` (the tools and the ONNX export ask for it).
    needs_noise_level = True

    def __init__(self,
                 in_channels: int = 3,
                 channels: int = 96,
                 num_layers: int = 12,
                 bn: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.layers = plain_conv_stack(4 * in_channels + 1, channels, 4 * in_channels, num_layers, bn)

    def forward(self, noisy: Tensor, noise_level: Optional[Tensor] = None) -> Tensor:
        """Denoise a batch.

        Args:
            noisy (Tensor): Noisy images (N, C, H, W), nominally in [0, 1].
            noise_level (Tensor): Noise standard deviation per image in [0, 1] units
                (sigma / 255), shape (N,) (one value is broadcast). Required.

        Returns:
            Tensor: Denoised images (N, C, H, W), not clamped. Any H, W >= 1.

        Raises:
            ValueError: If ``noisy`` is not a non-empty float batch of ``in_channels`` images,
                or ``noise_level`` is None or has the wrong number of values.
        """
        check_noisy(noisy, self.in_channels, self)
        if noise_level is None:
            raise ValueError('FFDNet is non-blind: pass noise_level, the noise standard '
                             'deviation per image in [0, 1] units (sigma / 255), shape (N,)')
        h, w = noisy.shape[-2:]
        # Pad one replicated row and column, keep an even size: the last row/column repeated
        # for odd sides, the input itself for even ones.
        x = F.pad(noisy, (0, 1, 0, 1), mode='replicate')[..., :(h + 1) // 2 * 2, :(w + 1) // 2 * 2]
        x = F.pixel_unshuffle(x, 2)
        x = torch.cat([x, noise_level_map(noise_level, x)], dim=1)
        return F.pixel_shuffle(self.layers(x), 2)[..., :h, :w]
