"""Load a trained denoiser and apply it to whole images of any size, tile by tile."""
from typing import Callable, List, Optional, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils.weights import load_weights


def load_denoiser(config: Union[str, Config],
                  checkpoint: Optional[str] = None,
                  device: Union[str, torch.device] = 'cpu') -> nn.Module:
    """Build ``model.denoiser`` of a config and load its weights, in eval mode.

    Args:
        config (str | Config): A config whose ``model`` is a :class:`DenoisingCascade`.
        checkpoint (str, optional): A cascade checkpoint (keys ``denoiser.*`` are taken), a
            bare denoiser checkpoint such as ``tools/convert_matlab_weights.py`` writes, or a
            shipped name (``mmsemdenoise://three-scale_blind_bsd400``); loaded strictly.
            None keeps the config's initialisation. Defaults to None.
        device (str | torch.device): Where to put the network. Defaults to 'cpu'.

    Returns:
        nn.Module: The denoiser, ``forward(noisy (N,3,H,W) in [0,1], noise_level (N,) or None)``.

    Raises:
        KeyError: If the config has no ``model.denoiser`` or the checkpoint does not fit
            (:class:`~mmsemdenoise.utils.CheckpointMismatchError`, naming the keys).
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    denoiser_cfg = cfg.get('model', {}).get('denoiser')
    if not denoiser_cfg:
        raise KeyError(f'config {getattr(cfg, "filename", "")}: no model.denoiser to build')
    init_default_scope(cfg.get('default_scope', 'mmsemdenoise'))
    denoiser_cfg = dict(denoiser_cfg)
    denoiser_cfg.pop('init_cfg', None)
    denoiser = MODELS.build(denoiser_cfg)
    if checkpoint is not None:
        load_weights(denoiser, checkpoint, prefix='denoiser.', name='denoiser')
    return denoiser.to(device).eval()


def _tile_starts(size: int, tile: int, stride: int) -> List[int]:
    if size <= tile:
        return [0]
    return list(range(0, size - tile, stride)) + [size - tile]


def tiled_apply(fn: Callable[[torch.Tensor], torch.Tensor],
                image: torch.Tensor,
                tile: Optional[int] = None,
                overlap: int = 32) -> torch.Tensor:
    """Apply a size-preserving image-to-image function to overlapping tiles and stitch them.

    Each tile's outer ``overlap // 2`` pixels on sides shared with another tile are discarded,
    so a network whose receptive-field radius is at most ``overlap // 2`` gives the same result
    as on the whole image, with the memory of one tile.

    Args:
        fn (Callable): (1, C, h, w) -> (1, C, h, w).
        image (Tensor): (1, C, H, W).
        tile (int, optional): Tile side; None or >= the image size runs ``fn`` once.
            Defaults to None.
        overlap (int): Pixels shared by neighbouring tiles (rounded down to even, < tile).
            Defaults to 32.

    Returns:
        Tensor: (1, C, H, W), ``fn`` applied everywhere.
    """
    height, width = image.shape[-2:]
    if tile is None or (height <= tile and width <= tile):
        return fn(image)
    overlap -= overlap % 2
    if not 0 <= overlap < tile:
        raise ValueError(f'tiling: need 0 <= overlap < tile, got overlap={overlap}, tile={tile}')
    margin, stride = overlap // 2, tile - overlap
    out = torch.empty_like(image)
    for y0 in _tile_starts(height, tile, stride):
        for x0 in _tile_starts(width, tile, stride):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            result = fn(image[..., y0:y1, x0:x1])
            top = y0 + (margin if y0 > 0 else 0)
            left = x0 + (margin if x0 > 0 else 0)
            bottom = y1 - (margin if y1 < height else 0)
            right = x1 - (margin if x1 < width else 0)
            out[..., top:bottom, left:right] = \
                result[..., top - y0:bottom - y0, left - x0:right - x0]
    return out


@torch.no_grad()
def denoise_image(denoiser: nn.Module,
                  image: np.ndarray,
                  noise_level: Optional[float] = None,
                  tile: Optional[int] = None,
                  overlap: int = 32) -> np.ndarray:
    """Denoise one RGB uint8 image.

    Args:
        denoiser (nn.Module): From :func:`load_denoiser`.
        image (np.ndarray): (H, W, 3) uint8, RGB.
        noise_level (float, optional): sigma on the 0-255 scale, for networks that take it
            (FFDNet). Defaults to None.
        tile (int, optional): Tile side, see :func:`tiled_apply`. Defaults to None.
        overlap (int): Tile overlap. Defaults to 32.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB, the output rounded and clipped.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'denoise_image: expected an (H, W, 3) uint8 RGB image, got '
                         f'{image.shape} {image.dtype}')
    device = next(denoiser.parameters()).device
    x = torch.from_numpy(image).permute(2, 0, 1)[None].to(device).float() / 255
    level = None if noise_level is None else x.new_full((1,), noise_level / 255)
    y = tiled_apply(lambda t: denoiser(t, level), x, tile, overlap)
    return (y[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
