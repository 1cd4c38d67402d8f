"""Apply a denoiser (:func:`~mmsemdenoise.apis.load_denoiser`) to whole images of any size, tile by
tile."""
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmsemdenoise.utils.model_zoo import SCHEME

#: What ``tools/denoise.py`` uses without ``--config`` / ``--checkpoint``.
DEFAULT_DENOISER = f'{SCHEME}three-scale_blind_bsd400'


def tile_spans(size: int, tile: int, overlap: int, align: int) -> List[Tuple[int, int]]:
    """(start, end) of the fewest tiles of at most ``tile`` pixels that cover ``size`` with
    neighbours sharing at least ``overlap``, as small as that allows (a 1024 side with
    ``tile=512, overlap=64`` takes 3 tiles of 384, not 3 of 512), starting at multiples of
    ``align`` (tiles grow to ``overlap + align`` if ``tile - overlap < align``); the last one
    may be shorter."""
    if size <= tile:
        return [(0, size)]
    longest = max((tile - overlap) // align, 1) * align  # stride of tiles of <= tile pixels
    count = -(-(size - overlap) // longest)
    stride = -(-(size - overlap) // (count * align)) * align
    side = stride + overlap
    starts = [0]
    while starts[-1] + side < size:
        starts.append(starts[-1] + stride)
    return [(start, min(start + side, size)) for start in starts]


def _edge_weights(length: int, low_shared: bool, high_shared: bool, overlap: int,
                  like: torch.Tensor) -> torch.Tensor:
    """1-D blending weights of a tile: 0 on the outer ``overlap // 4`` pixels of each side that
    another tile shares, then a linear ramp to 1 over the next ``overlap // 2`` pixels."""
    margin, ramp = overlap // 4, overlap - 2 * (overlap // 4)
    dist = torch.arange(length, device=like.device, dtype=like.dtype)
    weight = torch.ones_like(dist)
    for shared, d in ((low_shared, dist), (high_shared, length - 1 - dist)):
        if shared:
            weight = weight * ((d - margin + 0.5) / ramp).clamp(0, 1)
    return weight


def default_tile_batch(device: Union[str, torch.device]) -> int:
    """Tiles per network call by default: 1 on a CPU, 4 elsewhere.

    On a CPU one tile at a time keeps a tile's feature maps in the caches: batches of 4 tiles of
    384^2 ran 8-27 % slower than tiles one by one on two CPUs (docs/benchmarks.md, tiled
    inference); a GPU needs the batch to fill its cores.
    """
    return 1 if torch.device(device).type == 'cpu' else 4


def tiled_apply(fn: Callable[[torch.Tensor], torch.Tensor],
                image: torch.Tensor,
                tile: Optional[int] = None,
                overlap: int = 32,
                batch_size: Optional[int] = None,
                align: int = 8) -> torch.Tensor:
    """Apply a size-preserving image-to-image function to overlapping tiles and blend them.

    The tiles are the fewest of at most ``tile`` pixels a side that cover the image with
    neighbours sharing at least ``overlap`` pixels, as small as that allows, and start at
    multiples of ``align`` pixels, so that a network that downsamples (by up to ``align``) sees
    each tile on the whole image's pixel grid. Tiles of one size (all but the last row and
    column) go to ``fn`` ``batch_size`` at a time, stacked in one batch. On a side shared with
    another tile, a tile's
    outer ``overlap // 4`` pixels are discarded (weight 0; a network sees its padding there
    instead of the image) and the next ``overlap // 2`` are cross-faded linearly with the
    neighbour, so there are no seams; weights are normalised to sum to 1. A network whose
    receptive-field radius is at most ``overlap // 4`` gives exactly the whole-image result;
    larger ones differ slightly near tile borders. Memory: ``batch_size`` tiles plus two images.

    Args:
        fn (Callable): (B, C, h, w) -> (B, C', h, w), each image of the batch on its own (a
            network in eval mode).
        image (Tensor): (N, C, H, W).
        tile (int, optional): Largest tile side; None, 0 or >= the image size runs ``fn`` once
            on the whole image. Defaults to None.
        overlap (int): Pixels shared by neighbouring tiles at least, ``0 <= overlap < tile``.
            Defaults to 32.
        batch_size (int, optional): Tiles (of each of the N images) per call of ``fn``, >= 1.
            None: :func:`default_tile_batch` of the image's device (1 on a CPU, 4 on a GPU).
            Defaults to None.
        align (int): Tile starts are multiples of this, >= 1; 8 suits networks that
            downsample up to 8x (the three-scale net: 4x). Defaults to 8.

    Returns:
        Tensor: (N, C', H, W), ``fn`` applied everywhere.
    """
    height, width = image.shape[-2:]
    if not tile or (height <= tile and width <= tile):
        return fn(image)
    if not 0 <= overlap < tile:
        raise ValueError(f'tiling: need 0 <= overlap < tile, got overlap={overlap}, tile={tile}')
    batch_size = default_tile_batch(image.device) if batch_size is None else batch_size
    if batch_size < 1 or align < 1:
        raise ValueError(f'tiling: need batch_size >= 1 and align >= 1, got batch_size='
                         f'{batch_size}, align={align}')
    rows, cols = tile_spans(height, tile, overlap, align), tile_spans(width, tile, overlap, align)
    groups: Dict[Tuple[int, int], list] = {}  # tiles by size, batched within a size
    for y0, y1 in rows:
        for x0, x1 in cols:
            groups.setdefault((y1 - y0, x1 - x0), []).append((y0, y1, x0, x1))
    out, total = None, image.new_zeros(1, 1, height, width)
    for boxes in groups.values():
        for first in range(0, len(boxes), batch_size):
            chunk = boxes[first:first + batch_size]
            results = fn(torch.cat([image[..., y0:y1, x0:x1] for y0, y1, x0, x1 in chunk]))
            if out is None:
                out = results.new_zeros(image.shape[0], results.shape[1], height, width)
            for (y0, y1, x0, x1), result in zip(chunk, results.split(image.shape[0])):
                wy = _edge_weights(y1 - y0, y0 > 0, y1 < height, overlap, total)
                wx = _edge_weights(x1 - x0, x0 > 0, x1 < width, overlap, total)
                weight = wy[:, None] * wx[None, :]
                out[..., y0:y1, x0:x1] += result * weight
                total[..., y0:y1, x0:x1] += weight
    return out / total


#: Smaller sides are padded (edges repeated) to this for the network, then cropped back.
MIN_SIDE = 8
#: Shifts (rows, columns) of the three copies of a grey image given to a colour network.
GREY_SHIFTS = ((0, 0), (0, 1), (1, 0))


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``out[..., i, j] = x[..., i - dy, j - dx]`` for shifts in {-1, 0, 1}, edges repeated."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)), mode='replicate')
    return padded[..., max(-dy, 0):max(-dy, 0) + h, max(-dx, 0):max(-dx, 0) + w]


def model_channels(denoiser: nn.Module) -> int:
    """Image channels the denoiser takes (its ``in_channels``; 3 when it has none)."""
    return int(getattr(denoiser, 'in_channels', 3))


@torch.no_grad()
def denoise_array(denoiser: nn.Module,
                  image: np.ndarray,
                  noise_level: Optional[float] = None,
                  tile: Optional[int] = None,
                  overlap: int = 32) -> np.ndarray:
    """Denoise one 8- or 16-bit image, grey or colour, keeping its shape and dtype.

    Pixels are scaled to [0, 1] by the dtype's maximum (255 or 65535), denoised (in tiles, see
    :func:`tiled_apply`; sides under :data:`MIN_SIDE` padded), clamped, scaled back and rounded.
    Channels: a colour image through a one-channel network goes channel by channel. A grey image
    through a colour network goes as three copies shifted by (0, 0), (0, 1) and (1, 0) pixels
    (edges repeated), so that its noise is independent across the channels as in training, and
    comes back as the mean of the three outputs shifted back. (Three identical copies carry the
    same noise in every channel, which a colour network mostly keeps as grey detail: on four grey
    photo crops with the shipped blind network at sigma 25, identical copies gain 0.7 dB,
    shifted ones 7.5 dB.)

    Args:
        denoiser (nn.Module): From :func:`load_denoiser`.
        image (np.ndarray): (H, W) grey or (H, W, C) in the channel order the network expects
            (RGB for this package's networks), uint8 or uint16.
        noise_level (float, optional): sigma on the 0-255 scale (of the full range, also for
            16-bit images), for networks that take it (FFDNet). Defaults to None.
        tile (int, optional): Tile side, see :func:`tiled_apply`. Defaults to None.
        overlap (int): Tile overlap. Defaults to 32.

    Returns:
        np.ndarray: Same shape and dtype as ``image``.

    Raises:
        ValueError: For other dtypes, channels the network cannot take, a noise level that is
            not a finite number >= 0, or an output that is not finite (NaN/inf: nothing is
            returned that would be written as a black image).
    """
    if noise_level is not None and not (np.isfinite(noise_level) and noise_level >= 0):
        raise ValueError(f'noise_level must be a finite number >= 0 (0-255 scale), got '
                         f'{noise_level!r}')
    if image.dtype not in (np.uint8, np.uint16) or image.ndim not in (2, 3):
        raise ValueError(f'expected an (H, W) or (H, W, C) uint8 or uint16 image, got shape '
                         f'{image.shape} {image.dtype}')
    peak = float(np.iinfo(image.dtype).max)
    want, have = model_channels(denoiser), 1 if image.ndim == 2 else image.shape[2]
    device = next(denoiser.parameters(), torch.empty(0)).device
    x = torch.from_numpy(image.astype(np.float32) / peak).to(device)
    x = x[None, None] if image.ndim == 2 else x.permute(2, 0, 1)[None]  # (1, have, H, W)
    if have == want:
        batch = x
    elif want == 1:
        batch = x.transpose(0, 1)  # (have, 1, H, W): channel by channel
    elif have == 1 and want == 3:
        batch = torch.cat([_shift(x, dy, dx) for dy, dx in GREY_SHIFTS], dim=1)
    else:
        raise ValueError(f'the denoiser takes {want}-channel images, the image has {have}')
    level = None if noise_level is None else x.new_full((1,), noise_level / 255)
    height, width = batch.shape[-2:]
    if min(height, width) < MIN_SIDE:  # tiny images: edges repeated, then cropped
        batch = F.pad(batch, (0, max(MIN_SIDE - width, 0), 0, max(MIN_SIDE - height, 0)),
                      mode='replicate')
    y = torch.cat([tiled_apply(lambda t: denoiser(t, None if level is None else
                                                  level.expand(len(t))), b[None], tile, overlap)
                   for b in batch])[..., :height, :width]  # (len(batch), want, H, W)
    bad = int((~torch.isfinite(y)).sum())
    if bad:
        raise ValueError(f'the denoiser output has {bad} non-finite values (NaN/inf) of '
                         f'{y.numel()}: not written')
    if want == 1 and have != 1:
        y = y.transpose(0, 1)
    elif have == 1 and want == 3:
        y = torch.stack([_shift(y[:, i:i + 1], -dy, -dx)
                         for i, (dy, dx) in enumerate(GREY_SHIFTS)]).mean(dim=0)
    y = (y[0].clamp(0, 1) * peak).round().permute(1, 2, 0).cpu().numpy().astype(image.dtype)
    return y[..., 0] if image.ndim == 2 else y


def denoise_image(denoiser: nn.Module,
                  image: np.ndarray,
                  noise_level: Optional[float] = None,
                  tile: Optional[int] = None,
                  overlap: int = 32) -> np.ndarray:
    """Denoise one RGB uint8 image (:func:`denoise_array` for other depths and channels).

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
    return denoise_array(denoiser, image, noise_level, tile, overlap)
