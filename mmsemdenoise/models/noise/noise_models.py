"""Registered noise models: thin modules over :mod:`mmsemdenoise.models.noise.functional`.

Every model has the same interface::

    noisy, noise_level = noise_model(clean, seeds=None)

* ``clean``: ``(N, 3, H, W)`` float in ``[0, 1]``, on any device, any floating dtype.
* ``seeds``: one int per image (see :func:`~mmsemdenoise.models.noise.functional.image_seed`) for
  reproducible evaluation, or ``None`` to draw from the global generator (training).
* ``noisy``: ``(N, 3, H, W)``, dtype and device of ``clean``.
* ``noise_level``: ``(N,)`` in ``[0, 1]`` units (a standard deviation divided by 255 for 8-bit
  images), dtype and device of ``clean``: what a non-blind denoiser such as FFDNet is given.

Parameters given as a pair ``(low, high)`` are drawn per image uniformly from that range (blind
training); a single number is used for every image.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from mmsemdenoise.registry import MODELS
from .functional import (add_gaussian_noise, add_poisson_gaussian_noise, draw_uniform,
                         jpeg_compress, make_generators)

Range = Union[float, Sequence[float]]


def _as_range(value: Range, name: str, minimum: float,
              maximum: float = float('inf')) -> Tuple[float, float]:
    """Turn a number or a ``(low, high)`` pair into a checked ``(low, high)`` tuple."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low = high = float(value)
    elif isinstance(value, Sequence) and len(value) == 2:
        low, high = float(value[0]), float(value[1])
    else:
        raise ValueError(f'{name} must be a number or a (low, high) pair, got {value!r}')
    if not minimum <= low <= high <= maximum:
        raise ValueError(
            f'{name} must satisfy {minimum} <= low <= high <= {maximum}, got {value!r}')
    return low, high


def check_clean_batch(clean: Tensor) -> None:
    """Raise a clear error unless ``clean`` is a float (N, C, H, W) tensor (values in [0, 1]).

    Shared by the noise models of this package (:mod:`.corruptions`, :mod:`.mixed`).
    """
    if not isinstance(clean, Tensor) or clean.dim() != 4 or not clean.is_floating_point():
        got = tuple(clean.shape) if isinstance(clean, Tensor) else type(clean).__name__
        raise ValueError(f'noise models take float images (N, C, H, W) in [0, 1], got {got}')


@MODELS.register_module()
class GaussianNoise(nn.Module):
    """Additive white Gaussian noise (AWGN), as used to train and test DnCNN and FFDNet.

    ``noisy = clean + sigma / 255 * n`` with ``n ~ N(0, 1)`` i.i.d. per pixel and channel. DnCNN
    (Zhang et al., TIP 2017) and the paper this package follows do not clip the noisy image, hence
    ``clip=False`` by default.

    Args:
        sigma (float | Sequence[float]): Standard deviation on the 0-255 scale, e.g. ``25``, or a
            range ``(low, high)`` from which each image draws its own sigma uniformly, e.g.
            ``(0, 55)`` for blind DnCNN-B training. Defaults to 25.
        clip (bool): Clamp the noisy image to ``[0, 1]``. Defaults to False.

    Example:
        >>> noise = GaussianNoise(sigma=25)
        >>> noisy, level = noise(torch.full((2, 3, 8, 8), 0.5), seeds=[1, 2])
        >>> noisy.shape, torch.allclose(level, torch.full((2, ), 25 / 255))
        (torch.Size([2, 3, 8, 8]), True)
    """

    def __init__(self, sigma: Range = 25.0, clip: bool = False) -> None:
        super().__init__()
        self.sigma_range = _as_range(sigma, 'GaussianNoise.sigma', 0.0)
        self.clip = clip

    def forward(self,
                clean: Tensor,
                seeds: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """Add the noise.

        Args:
            clean (Tensor): ``(N, C, H, W)`` in ``[0, 1]``.
            seeds (Sequence[int], optional): One seed per image, or ``None``. Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: ``noisy`` ``(N, C, H, W)`` and ``noise_level`` ``(N,)``,
            sigma / 255 of each image.
        """
        check_clean_batch(clean)
        generators = make_generators(seeds, clean.shape[0], clean.device)
        sigma = draw_uniform(clean.shape[0], *self.sigma_range, generators, clean.device) / 255.0
        noisy = add_gaussian_noise(clean, sigma, generators, clip=self.clip)
        return noisy, sigma.to(clean.dtype)

    def extra_repr(self) -> str:
        return f'sigma={self.sigma_range} (0-255 scale), clip={self.clip}'


@MODELS.register_module()
class PoissonGaussianNoise(nn.Module):
    """Signal-dependent Poisson-Gaussian noise: variance ``a * clean + b`` (Foi et al., TIP 2008).

    ``noisy = y + sqrt(a * y + b) * n``, ``n ~ N(0, 1)``, ``y`` the clean value in ``[0, 1]``: the
    normal approximation of ``a * Poisson(y / a) + N(0, b)``. ``a`` is the photon-noise scale and
    ``b`` the variance of the signal-independent (read) noise, both in ``[0, 1]`` units: a pixel of
    value ``y`` has standard deviation ``sqrt(a * y + b)`` (times 255 on the 8-bit scale). The
    heteroscedastic Gaussian of CBDNet (Guo et al., CVPR 2019) is the same model with
    ``a = sigma_s ** 2`` and ``b = sigma_c ** 2``.

    The returned noise level is the effective (RMS) standard deviation of each image,
    ``sqrt(a * mean(y) + b)``, the mean taken over all values of the image: the standard deviation
    of ``noisy - clean`` before clipping.

    Args:
        a (float | Sequence[float]): Poisson scale, or a ``(low, high)`` range drawn per image.
            Defaults to 0.01 (a pixel of 0.5 gets sigma of about 18/255).
        b (float | Sequence[float]): Gaussian variance, or a ``(low, high)`` range drawn per image.
            Defaults to 1e-4 (sigma of about 2.6/255).
        clip (bool): Clamp the noisy image to ``[0, 1]``, as a sensor would. Defaults to False.
    """

    def __init__(self, a: Range = 0.01, b: Range = 1e-4, clip: bool = False) -> None:
        super().__init__()
        self.a_range = _as_range(a, 'PoissonGaussianNoise.a', 0.0)
        self.b_range = _as_range(b, 'PoissonGaussianNoise.b', 0.0)
        self.clip = clip

    def forward(self,
                clean: Tensor,
                seeds: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """Add the noise.

        Args:
            clean (Tensor): ``(N, C, H, W)`` in ``[0, 1]``.
            seeds (Sequence[int], optional): One seed per image, or ``None``. Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: ``noisy`` ``(N, C, H, W)`` and ``noise_level`` ``(N,)``, the RMS
            standard deviation ``sqrt(a * mean(clean) + b)`` of each image in ``[0, 1]`` units.
        """
        check_clean_batch(clean)
        num, device = clean.shape[0], clean.device
        generators = make_generators(seeds, num, device)
        a = draw_uniform(num, *self.a_range, generators, device)
        b = draw_uniform(num, *self.b_range, generators, device)
        noisy = add_poisson_gaussian_noise(clean, a, b, generators, clip=self.clip)
        mean_signal = clean.detach().float().clamp(min=0).mean(dim=(1, 2, 3))
        level = (a * mean_signal + b).sqrt()
        return noisy, level.to(clean.dtype)

    def extra_repr(self) -> str:
        return f'a={self.a_range}, b={self.b_range}, clip={self.clip}'


@MODELS.register_module()
class JPEGNoise(nn.Module):
    """JPEG compression artefacts from a real encoder (libjpeg through ``torchvision.io``).

    Each image is quantised to 8 bits, encoded at its quality, decoded, and moved back to its
    device. Qualities are drawn on the CPU (the encoder runs there), so a seeded image gets the same
    quality and the same artefacts on every device. The output carries no gradient.

    The returned noise level is the measured RMS error ``sqrt(mean((noisy - clean) ** 2))`` of each
    image in ``[0, 1]`` units, an effective sigma comparable with :class:`GaussianNoise`'s.

    Args:
        quality (int | Sequence[int]): JPEG quality in ``[1, 100]``, or an inclusive ``(low, high)``
            range from which each image draws an integer quality uniformly. Defaults to 10.
    """

    def __init__(self, quality: Range = 10) -> None:
        super().__init__()
        low, high = _as_range(quality, 'JPEGNoise.quality', 1, 100)
        if low != int(low) or high != int(high):
            raise ValueError(f'JPEGNoise.quality must be integers, got {quality!r}')
        self.quality_range = (int(low), int(high))

    def draw_quality(self, num_images: int, seeds: Optional[Sequence[int]] = None) -> list:
        """Draw one integer quality per image (on the CPU).

        Args:
            num_images (int): N.
            seeds (Sequence[int], optional): One seed per image, or ``None``. Defaults to None.

        Returns:
            list[int]: N qualities in the configured range.
        """
        low, high = self.quality_range
        if low == high:
            return [low] * num_images
        generators = make_generators(seeds, num_images, 'cpu')
        if generators is None:
            return torch.randint(low, high + 1, (num_images, )).tolist()
        return [int(torch.randint(low, high + 1, (1, ), generator=g)) for g in generators]

    def forward(self,
                clean: Tensor,
                seeds: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """Compress and decompress.

        Args:
            clean (Tensor): ``(N, 3, H, W)`` in ``[0, 1]``.
            seeds (Sequence[int], optional): One seed per image, or ``None``. Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: ``noisy`` ``(N, 3, H, W)`` in ``[0, 1]`` and ``noise_level``
            ``(N,)``, the RMS error of each image in ``[0, 1]`` units.
        """
        check_clean_batch(clean)
        noisy = jpeg_compress(clean, self.draw_quality(clean.shape[0], seeds))
        level = (noisy.float() - clean.detach().float()).pow(2).mean(dim=(1, 2, 3)).sqrt()
        return noisy, level.to(clean.dtype)

    def extra_repr(self) -> str:
        return f'quality={self.quality_range}'
