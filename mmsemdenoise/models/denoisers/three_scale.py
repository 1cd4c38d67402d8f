"""The multi-scale encoder-decoder denoiser of Liu et al. (IJCAI 2018).

Paper: D. Liu, B. Wen, X. Liu, Z. Wang, T. S. Huang, "When Image Denoising Meets High-Level Vision
Tasks: A Deep Learning Approach", IJCAI 2018, arXiv:1706.04284. Architecture from the authors'
Caffe definition, github.com/Ding-Liu/DeepDenoising ``exper/config/deploy_denoise.prototxt``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmsemdenoise.registry import MODELS
from .blocks import BottleneckBlock, ConvBNReLU
from .checks import check_noisy

#: Border lost by the unpadded 5x5 first and 3x3 last convolutions: 2 + 1 pixels per side.
CROP = 3
PADDING_MODES = ('reflect', 'replicate', 'zeros', 'original')


class DecoderStage(nn.Module):
    """Upsample x2 with a 4x4 transposed convolution, concatenate the skip features, fuse.

    Args:
        in_channels (int): Channels of the coarser input.
        up_channels (int): Channels after the transposed convolution.
        fuse (nn.Module): Applied to the concatenation ``[skip, upsampled]`` (skip first, as in
            the Caffe ``Concat`` layers).
    """

    def __init__(self, in_channels: int, up_channels: int, fuse: nn.Module) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, up_channels, 4, stride=2, padding=1)
        self.fuse = fuse

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        """Fuse ``x`` (N, C_in, h, w) with ``skip`` (N, C_skip, 2h, 2w) into (N, C_out, 2h, 2w)."""
        return self.fuse(torch.cat([skip, self.up(x)], dim=1))


@MODELS.register_module()
class ThreeScaleDenoiser(BaseModule):
    """Encoder-decoder denoiser with bottleneck residual blocks and residual learning.

    With ``b = base_channels`` (64) and the default ``num_scales=3``:

    * ``conv0``: 5x5 conv ``3 -> b``, unpadded, no BN/ReLU (full scale);
    * ``encoders[k]`` (scale 1/2, 1/4): 3x3 stride-2 conv ``-> 2b`` + BN + ReLU, then a bottleneck
      block ``2b -> b/2 -> b/2 -> 2b``;
    * ``decoders[0]`` (scale 1/2): 4x4 stride-2 transposed conv ``2b -> b/2``, concatenated with
      ``encoders[0]``'s output (``2b + b/2``), 3x3 conv ``-> 4b`` + BN + ReLU, bottleneck block
      ``4b -> b -> b -> 4b``;
    * ``decoders[-1]`` (full scale): transposed conv ``-> b``, concatenated with ``conv0``
      (``2b``), unpadded 3x3 conv ``-> 3``; the result is added to the noisy input.

    ``num_scales=S`` uses ``S - 1`` encoders and ``S - 2`` middle decoders of the same shapes.

    Learnable parameters for the default: 1,032,931. The Caffe definition also gives the three
    convolutions in front of BatchNorm+Scale a bias (512 values, 1,033,443 in all); batch norm's
    mean subtraction cancels such a bias, so it never gets a gradient, and it is left out here.
    BN running statistics are buffers, not parameters.

    Sizes: the original net has unpadded first and last convolutions (output smaller by
    ``CROP = 3`` pixels per border) and needs ``H - 4`` divisible by ``2 ** (S - 1)``.
    ``padding_mode='original'`` reproduces exactly that. The other modes pad the input by 3 pixels
    per border plus up to ``2 ** (S - 1) - 1`` at the bottom/right, run the same network and crop,
    so any H x W gives an output of the same size (``'reflect'`` needs H, W >= 7).

    Args:
        in_channels (int): Image channels. Defaults to 3.
        base_channels (int): ``b`` above; must be even. Defaults to 64.
        num_scales (int): Resolutions including the full one, >= 2. Defaults to 3.
        padding_mode (str): ``'reflect'``, ``'replicate'``, ``'zeros'`` or ``'original'``.
            Defaults to ``'reflect'``.
        init_cfg (dict or list[dict], optional): mmengine initialisation, e.g.
            ``dict(type='Pretrained', checkpoint=...)``. Defaults to None (PyTorch defaults).
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 num_scales: int = 3,
                 padding_mode: str = 'reflect',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.in_channels = in_channels
        if padding_mode not in PADDING_MODES:
            raise ValueError(f'padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}')
        if num_scales < 2 or base_channels < 2 or base_channels % 2:
            raise ValueError('need num_scales >= 2 and an even base_channels >= 2, got '
                             f'num_scales={num_scales}, base_channels={base_channels}')
        b = base_channels
        self.in_channels = in_channels
        self.padding_mode = padding_mode
        self.size_multiple = 2**(num_scales - 1)
        self.conv0 = nn.Conv2d(in_channels, b, 5, padding=0)
        self.encoders = nn.ModuleList(
            nn.Sequential(
                ConvBNReLU(b if k == 0 else 2 * b, 2 * b, 3, stride=2, padding=1),
                BottleneckBlock(2 * b, b // 2)) for k in range(num_scales - 1))
        self.decoders = nn.ModuleList(
            DecoderStage(
                2 * b if k == 0 else 4 * b, b // 2,
                nn.Sequential(ConvBNReLU(2 * b + b // 2, 4 * b), BottleneckBlock(4 * b, b)))
            for k in range(num_scales - 2))
        self.decoders.append(
            DecoderStage(2 * b if num_scales == 2 else 4 * b, b,
                         ConvBNReLU(2 * b, in_channels, 3, padding=0, bn=False, relu=False)))

    def forward(self, noisy: Tensor, noise_level: Optional[Tensor] = None) -> Tensor:
        """Denoise a batch.

        Args:
            noisy (Tensor): Noisy images (N, C, H, W), nominally in [0, 1].
            noise_level (Tensor, optional): Ignored (the network is blind); accepted for the
                common denoiser interface. Defaults to None.

        Returns:
            Tensor: Denoised images, not clamped: (N, C, H, W), or (N, C, H - 6, W - 6) with
            ``padding_mode='original'``.

        Raises:
            ValueError: If the size does not suit the padding mode, or ``noisy`` is not a
                non-empty float batch of ``in_channels`` images.
        """
        check_noisy(noisy, self.in_channels, self)
        h, w = noisy.shape[-2:]
        m = self.size_multiple
        if self.padding_mode == 'original':
            if min(h, w) <= 4 or (h - 4) % m or (w - 4) % m:
                raise ValueError(
                    f"{type(self).__name__}(padding_mode='original') needs H - 4 and W - 4 to be "
                    f'positive multiples of {m} (the output loses {CROP} px per border); got '
                    f"H x W = {h} x {w}. Use padding_mode='reflect' for any size.")
            return self._forward_valid(noisy)
        if self.padding_mode == 'reflect' and min(h, w) < 2 * CROP + 1:
            raise ValueError(f"padding_mode='reflect' needs H, W >= {2 * CROP + 1}, got "
                             f"{h} x {w}; use 'replicate' or 'zeros' for tiny images")
        pad_h, pad_w = -(h - 4 + 2 * CROP) % m, -(w - 4 + 2 * CROP) % m
        mode = 'constant' if self.padding_mode == 'zeros' else self.padding_mode
        padded = F.pad(noisy, (CROP, CROP + pad_w, CROP, CROP + pad_h), mode=mode)
        return self._forward_valid(padded)[..., :h, :w]

    def _forward_valid(self, x: Tensor) -> Tensor:
        """The original network: (N, C, H, W) -> (N, C, H - 6, W - 6), H - 4 divisible."""
        features = [self.conv0(x)]
        for encoder in self.encoders:
            features.append(encoder(features[-1]))
        out = features.pop()
        for decoder, skip in zip(self.decoders, reversed(features)):
            out = decoder(out, skip)
        return out + x[..., CROP:-CROP, CROP:-CROP]
