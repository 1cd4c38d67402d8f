"""The input check every denoiser runs first: a clear error instead of a torch one deep inside."""
from typing import Optional

import torch
from torch import Tensor, nn


def check_noisy(noisy: Tensor, in_channels: int, module: nn.Module) -> None:
    """Check a batch given to a denoiser's ``forward``.

    Args:
        noisy (Tensor): Should be (N, C, H, W) with ``C = in_channels`` and N, H, W >= 1, of a
            floating dtype (images in [0, 1]); with parameters, on their device and, outside
            autocast, of their dtype.
        in_channels (int): The channels the denoiser takes.
        module (nn.Module): The denoiser (its class names the errors).

    Raises:
        TypeError: If ``noisy`` is not a tensor.
        ValueError: If its shape, dtype or device does not suit the denoiser.
    """
    name = type(module).__name__
    if not isinstance(noisy, Tensor):
        raise TypeError(f'{name} takes a Tensor of shape (N, {in_channels}, H, W), '
                        f'got {type(noisy).__name__}')
    shape = tuple(noisy.shape)
    if noisy.dim() != 4 or shape[1] != in_channels:
        raise ValueError(f'{name} takes images of shape (N, {in_channels}, H, W), got {shape}')
    if 0 in shape:
        raise ValueError(f'{name}: empty batch or image, shape {shape} (N, H and W must be >= 1)')
    if not noisy.is_floating_point():
        raise ValueError(f'{name} takes floating-point images in [0, 1], got {noisy.dtype} '
                         '(uint8 pixels: divide by 255 first)')
    param: Optional[Tensor] = next(module.parameters(), None)
    if param is None:
        return
    if noisy.device != param.device:
        raise ValueError(f'{name}: images on {noisy.device}, weights on {param.device}')
    if noisy.dtype != param.dtype and not torch.is_autocast_enabled(noisy.device.type):
        raise ValueError(f'{name}: images are {noisy.dtype}, weights {param.dtype} (convert one '
                         'of them, or run under torch.autocast)')
