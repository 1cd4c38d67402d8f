"""Noise as functions: per-image generators; Gaussian, Poisson-Gaussian and JPEG degradations.

All images are float tensors ``(N, C, H, W)`` in ``[0, 1]``. Random numbers are drawn on the device
of the image, either from the global generator of that device (training: mmengine's
``randomness.seed`` seeds it) or, for reproducible evaluation, from one ``torch.Generator`` per
image seeded with :func:`image_seed`. A seeded image then gets the same noise whatever batch it is
in, however large that batch is and whichever images are beside it.

Note:
    A seed gives different numbers on CPU and on CUDA (the generators differ), so noisy test images
    drawn on a GPU differ from those drawn on a CPU. Results are reproducible per device type; pass
    images of the same device type to compare methods. Half-precision images get noise drawn in
    float32 and cast back, so fp16/bf16 runs see the same noise as float32 runs of the same device.
"""
import zlib
from typing import List, Optional, Sequence, Union

import torch
from torch import Tensor

Generators = Optional[List[torch.Generator]]


def image_seed(key: Union[str, int], base_seed: int) -> int:
    """Derive a stable per-image seed from an image key and a base seed.

    The seed is the CRC-32 of ``'<base_seed>/<key>'`` (UTF-8), which is the same in every process
    and Python version, unlike the salted built-in ``hash()``. Pass the file name (not the
    absolute path) as key so the seed does not depend on where the data lies.

    Args:
        key (str | int): Identifies the image, e.g. ``'0001.png'`` or its index in the dataset.
        base_seed (int): Seed of the whole evaluation; another value draws other noisy images.

    Returns:
        int: A seed in ``[0, 2**32)``.

    Example:
        >>> image_seed('0001.png', 0) == image_seed('0001.png', 0)
        True
        >>> image_seed('0001.png', 0) != image_seed('0001.png', 1)
        True
    """
    if not isinstance(key, (str, int)) or isinstance(key, bool):
        raise TypeError(f'image_seed: key must be a str or int, got {type(key).__name__}')
    return zlib.crc32(f'{int(base_seed)}/{key}'.encode('utf-8'))


def make_generators(seeds: Optional[Sequence[int]], num_images: int,
                    device: Union[str, torch.device]) -> Generators:
    """Build one seeded ``torch.Generator`` per image, or ``None`` to use the global generator.

    Args:
        seeds (Sequence[int], optional): One seed per image, or ``None``.
        num_images (int): Number of images N in the batch; ``len(seeds)`` must equal it.
        device (str | torch.device): Device the generators draw on (that of the images).

    Returns:
        list[torch.Generator] | None: N generators on ``device``, or ``None`` when seeds is None.
    """
    if seeds is None:
        return None
    seeds = [int(s) for s in seeds]
    if len(seeds) != num_images:
        raise ValueError(f'need one seed per image: got {len(seeds)} seeds for {num_images} images')
    return [torch.Generator(device=device).manual_seed(s) for s in seeds]


def draw_dtype(dtype: torch.dtype) -> torch.dtype:
    """Return the dtype random numbers are drawn in: float32 for half types, else ``dtype``.

    Args:
        dtype (torch.dtype): The floating dtype of the images.

    Returns:
        torch.dtype: ``torch.float32`` for float16/bfloat16, ``dtype`` otherwise.
    """
    if not dtype.is_floating_point:
        raise TypeError(f'noise needs floating-point images in [0, 1], got dtype {dtype}')
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def draw_uniform(num_images: int,
                 low: float,
                 high: float,
                 generators: Generators,
                 device: Union[str, torch.device],
                 dtype: torch.dtype = torch.float32) -> Tensor:
    """Draw one value per image uniformly from ``[low, high]``.

    Args:
        num_images (int): N.
        low (float): Lower bound.
        high (float): Upper bound, ``>= low``.
        generators (list[torch.Generator], optional): One per image, or ``None`` for the global one.
        device (str | torch.device): Device to draw on.
        dtype (torch.dtype): Floating dtype of the result. Defaults to float32.

    Returns:
        Tensor: Shape ``(N,)``, values in ``[low, high]``.
    """
    if low == high:
        return torch.full((num_images, ), low, device=device, dtype=dtype)
    if generators is None:
        unit = torch.rand(num_images, device=device, dtype=dtype)
    else:
        unit = torch.cat(
            [torch.rand(1, generator=g, device=device, dtype=dtype) for g in generators])
    return low + (high - low) * unit


def draw_normal(shape: Sequence[int],
                generators: Generators,
                device: Union[str, torch.device],
                dtype: torch.dtype = torch.float32) -> Tensor:
    """Draw standard normal noise of ``shape``; with generators, image ``i`` uses ``generators[i]``.

    Args:
        shape (Sequence[int]): ``(N, C, H, W)``.
        generators (list[torch.Generator], optional): One per image, or ``None`` for the global one.
        device (str | torch.device): Device to draw on.
        dtype (torch.dtype): Floating dtype of the result. Defaults to float32.

    Returns:
        Tensor: Shape ``shape``, N(0, 1) samples.
    """
    if generators is None:
        return torch.randn(tuple(shape), device=device, dtype=dtype)
    per_image = tuple(shape[1:])
    return torch.stack(
        [torch.randn(per_image, generator=g, device=device, dtype=dtype) for g in generators])


def add_gaussian_noise(clean: Tensor,
                       sigma: Tensor,
                       generators: Generators = None,
                       clip: bool = False) -> Tensor:
    """Add white Gaussian noise: ``noisy = clean + sigma * n``, ``n ~ N(0, 1)`` i.i.d. per value.

    Args:
        clean (Tensor): ``(N, C, H, W)`` in ``[0, 1]``.
        sigma (Tensor): ``(N,)`` standard deviations in ``[0, 1]`` units (sigma_255 / 255).
        generators (list[torch.Generator], optional): One per image, or ``None``.
        clip (bool): Clamp the result to ``[0, 1]``. Defaults to False.

    Returns:
        Tensor: ``(N, C, H, W)`` noisy images, dtype and device of ``clean``.
    """
    work = draw_dtype(clean.dtype)
    noise = draw_normal(clean.shape, generators, clean.device, work)
    noisy = clean.to(work) + sigma.to(clean.device, work).view(-1, 1, 1, 1) * noise
    return (noisy.clamp(0, 1) if clip else noisy).to(clean.dtype)


def add_poisson_gaussian_noise(clean: Tensor,
                               a: Tensor,
                               b: Tensor,
                               generators: Generators = None,
                               clip: bool = False) -> Tensor:
    """Add heteroscedastic (signal-dependent) Gaussian noise with variance ``a * clean + b``.

    This is the Poisson-Gaussian model of Foi et al., "Practical Poissonian-Gaussian noise modeling
    and fitting for single-image raw-data", IEEE TIP 2008, in its normal approximation:
    ``noisy = y + sqrt(a * y + b) * n``, ``n ~ N(0, 1)``, ``y`` the clean value in ``[0, 1]``:
    ``a`` scales the photon (Poisson) part, ``b`` is the variance of the signal-independent part.

    Args:
        clean (Tensor): ``(N, C, H, W)`` in ``[0, 1]``.
        a (Tensor): ``(N,)`` Poisson scale, ``>= 0`` (variance per unit of signal).
        b (Tensor): ``(N,)`` variance of the Gaussian part, ``>= 0``, in ``[0, 1]`` units squared.
        generators (list[torch.Generator], optional): One per image, or ``None``.
        clip (bool): Clamp the result to ``[0, 1]``. Defaults to False.

    Returns:
        Tensor: ``(N, C, H, W)`` noisy images, dtype and device of ``clean``.
    """
    work = draw_dtype(clean.dtype)
    signal = clean.detach().to(work)
    a = a.to(clean.device, work).view(-1, 1, 1, 1)
    b = b.to(clean.device, work).view(-1, 1, 1, 1)
    std = (a * signal.clamp(min=0) + b).sqrt()
    noise = draw_normal(clean.shape, generators, clean.device, work)
    noisy = clean.to(work) + std * noise
    return (noisy.clamp(0, 1) if clip else noisy).to(clean.dtype)


def jpeg_compress(clean: Tensor, quality: Sequence[int]) -> Tensor:
    """Compress each image with a real JPEG encoder (libjpeg via torchvision) and decode it again.

    The image is quantised to uint8 (``round(255 * clamp(x, 0, 1))``), encoded on the CPU with
    ``torchvision.io.encode_jpeg`` at its quality, decoded, and returned to the input's device. The
    result is deterministic and carries no gradient.

    Args:
        clean (Tensor): ``(N, 3, H, W)`` RGB in ``[0, 1]`` (or ``(N, 1, H, W)`` grey).
        quality (Sequence[int]): One JPEG quality in ``[1, 100]`` per image.

    Returns:
        Tensor: ``(N, C, H, W)`` decoded images in ``[0, 1]``, dtype and device of ``clean``.
    """
    from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg

    if len(quality) != clean.shape[0]:
        raise ValueError(
            f'need one JPEG quality per image: got {len(quality)} for {clean.shape[0]} images')
    if clean.shape[1] not in (1, 3):
        raise ValueError(f'JPEG needs 1 or 3 channels, got images of shape {tuple(clean.shape)}')
    mode = ImageReadMode.RGB if clean.shape[1] == 3 else ImageReadMode.GRAY
    images = (clean.detach().float().clamp(0, 1) * 255).round().to('cpu', torch.uint8)
    decoded = []
    for image, q in zip(images, quality):
        if not 1 <= int(q) <= 100:
            raise ValueError(f'JPEG quality must be in [1, 100], got {q}')
        decoded.append(decode_jpeg(encode_jpeg(image.contiguous(), quality=int(q)), mode=mode))
    return (torch.stack(decoded).float() / 255).to(clean.device, clean.dtype)
