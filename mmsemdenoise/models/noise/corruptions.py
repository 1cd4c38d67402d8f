"""The noise corruptions of the common-corruption benchmarks (ImageNet-C, Cityscapes-C, COCO-C).

Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions and
Perturbations", ICLR 2019, as packaged in ``imagecorruptions`` 1.1.2 (bethgelab; the package
mmdetection's ``tools/analysis_tools/test_robustness.py`` uses). Same constants and the same
clipping as its ``gaussian_noise``, ``shot_noise``, ``impulse_noise`` and ``speckle_noise``:

=============== ======================================= =========================================
corruption      ``x`` in [0, 1] (uint8 / 255)            severity 1-5 constant ``c``
=============== ======================================= =========================================
gaussian_noise  ``clip(x + c * n, 0, 1)``                std ``.08 .12 .18 .26 .38``
shot_noise      ``clip(Poisson(c * x) / c, 0, 1)``       photons per unit ``60 25 12 5 3``
impulse_noise   a fraction ``c`` of values set to 0 or 1 amount ``.03 .06 .09 .17 .27``
                (salt and pepper, half each)
speckle_noise   ``clip(x + x * c * n, 0, 1)``            std ``.15 .2 .35 .45 .6``
=============== ======================================= =========================================

``n ~ N(0, 1)``, every draw i.i.d. per value (pixel and channel). The package's ``corrupt()``
returns ``np.uint8(255 * result)``, i.e. truncates towards zero; with ``quantize=True`` (the
default) :class:`CorruptionNoise` does the same, so the task model sees the images a corrupted
benchmark set holds. The arithmetic runs in float64 like the package's numpy code, so given the
same random draws the result equals the package's bit for bit (tested with numpy's draws).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from mmsemdenoise.registry import MODELS
from .functional import Generators, draw_normal, make_generators
from .noise_models import check_clean_batch

#: imagecorruptions 1.1.2's constant of each noise corruption at severities 1..5.
NOISE_CORRUPTIONS: Dict[str, Tuple[float, ...]] = {
    'gaussian_noise': (0.08, 0.12, 0.18, 0.26, 0.38),
    'shot_noise': (60.0, 25.0, 12.0, 5.0, 3.0),
    'impulse_noise': (0.03, 0.06, 0.09, 0.17, 0.27),
    'speckle_noise': (0.15, 0.2, 0.35, 0.45, 0.6),
}
SEVERITIES = (1, 2, 3, 4, 5)
WORK_DTYPE = torch.float64


def gaussian_noise(x: Tensor, std: Tensor, normal: Tensor) -> Tensor:
    """``clip(x + std * normal, 0, 1)``.

    Args:
        x (Tensor): ``(N, C, H, W)`` clean values in ``[0, 1]``.
        std (Tensor): ``(N,)`` standard deviations (the severity constant of each image).
        normal (Tensor): ``(N, C, H, W)`` standard normal draws.

    Returns:
        Tensor: ``(N, C, H, W)`` in ``[0, 1]``.
    """
    return (x + std.view(-1, 1, 1, 1) * normal).clamp(0, 1)


def speckle_noise(x: Tensor, std: Tensor, normal: Tensor) -> Tensor:
    """Multiplicative noise ``clip(x + x * (std * normal), 0, 1)``; arguments as
    :func:`gaussian_noise`."""
    return (x + x * (std.view(-1, 1, 1, 1) * normal)).clamp(0, 1)


def shot_noise(counts: Tensor, photons: Tensor) -> Tensor:
    """``clip(counts / photons, 0, 1)`` for photon counts ``counts ~ Poisson(photons * x)``.

    Args:
        counts (Tensor): ``(N, C, H, W)`` Poisson draws (float, integral values).
        photons (Tensor): ``(N,)`` photons per unit intensity (the severity constant).

    Returns:
        Tensor: ``(N, C, H, W)`` in ``[0, 1]``.
    """
    return (counts / photons.view(-1, 1, 1, 1)).clamp(0, 1)


def impulse_noise(x: Tensor, hit: Tensor, salt: Tensor) -> Tensor:
    """Salt and pepper: values where ``hit`` become 1 (``salt``) or 0 (not ``salt``).

    Args:
        x (Tensor): ``(N, C, H, W)`` clean values in ``[0, 1]``.
        hit (Tensor): ``(N, C, H, W)`` bool, the values replaced.
        salt (Tensor): ``(N, C, H, W)`` bool, white where hit, else black.

    Returns:
        Tensor: ``(N, C, H, W)`` in ``[0, 1]``.
    """
    out = torch.where(hit & salt, torch.ones_like(x), x)
    return torch.where(hit & ~salt, torch.zeros_like(x), out).clamp(0, 1)


def to_8bit_grid(clean: Tensor) -> Tensor:
    """What the package reads from a uint8 image: ``round(255 * x) / 255`` in float64.

    Args:
        clean (Tensor): ``(N, C, H, W)`` float in ``[0, 1]`` (e.g. uint8 / 255 in float32).

    Returns:
        Tensor: ``(N, C, H, W)`` float64 on the 8-bit grid.
    """
    return (clean.detach().to(WORK_DTYPE).clamp(0, 1) * 255).round() / 255


def truncate_to_8bit(corrupted: Tensor) -> Tensor:
    """What ``corrupt()`` returns, ``np.uint8(255 * y)`` (truncation), divided by 255 again.

    Args:
        corrupted (Tensor): ``(N, C, H, W)`` float64 in ``[0, 1]``.

    Returns:
        Tensor: ``(N, C, H, W)`` float64 on the 8-bit grid.
    """
    return (corrupted * 255).floor() / 255


def _per_image(draw, shape: Sequence[int], generators: Generators) -> Tensor:
    if generators is None:
        return draw(tuple(shape), None)
    return torch.stack([draw(tuple(shape[1:]), g) for g in generators])


def corrupt(x: Tensor, corruption: str, constant: Tensor, generators: Generators = None) -> Tensor:
    """Apply one noise corruption, drawing its random numbers (per image when seeded).

    Args:
        x (Tensor): ``(N, C, H, W)`` float64 clean values in ``[0, 1]``.
        corruption (str): A key of :data:`NOISE_CORRUPTIONS`.
        constant (Tensor): ``(N,)`` float64 severity constant of each image.
        generators (list[torch.Generator], optional): One per image, or ``None``.

    Returns:
        Tensor: ``(N, C, H, W)`` float64 corrupted values in ``[0, 1]`` (not quantised).
    """
    device, dtype = x.device, x.dtype
    if corruption in ('gaussian_noise', 'speckle_noise'):
        normal = draw_normal(x.shape, generators, device, dtype)
        fn = gaussian_noise if corruption == 'gaussian_noise' else speckle_noise
        return fn(x, constant, normal)
    if corruption == 'shot_noise':
        rates = x * constant.view(-1, 1, 1, 1)
        if generators is None:
            return shot_noise(torch.poisson(rates), constant)
        counts = torch.stack([torch.poisson(r, generator=g) for r, g in zip(rates, generators)])
        return shot_noise(counts, constant)
    if corruption == 'impulse_noise':
        def uniform(shape, g):
            return torch.rand(shape, generator=g, device=device, dtype=dtype)
        hit = _per_image(uniform, x.shape, generators) <= constant.view(-1, 1, 1, 1)
        salt = _per_image(uniform, x.shape, generators) <= 0.5
        return impulse_noise(x, hit, salt)
    raise ValueError(f'unknown noise corruption {corruption!r}; known: {list(NOISE_CORRUPTIONS)}')


def _severity_range(severity: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(severity, int) and not isinstance(severity, bool):
        low = high = severity
    elif isinstance(severity, Sequence) and len(severity) == 2 and \
            all(isinstance(s, int) and not isinstance(s, bool) for s in severity):
        low, high = severity
    else:
        raise ValueError(f'CorruptionNoise.severity must be an int or an (low, high) pair of '
                         f'ints, got {severity!r}')
    if not 1 <= low <= high <= 5:
        raise ValueError(f'CorruptionNoise.severity must lie in 1..5 (low <= high), '
                         f'got {severity!r}')
    return low, high


@MODELS.register_module()
class CorruptionNoise(nn.Module):
    """One noise corruption of ``imagecorruptions`` 1.1.2 at a severity (or a severity range).

    Same constants and clipping as the package (see the module docstring); seeded per image as
    the other noise models (``seeds``: the same noisy image whatever the batch). The returned
    noise level is the RMS of ``noisy - clean`` per image in ``[0, 1]`` units, an effective sigma
    for denoisers that take one.

    Args:
        corruption (str): ``'gaussian_noise'``, ``'shot_noise'``, ``'impulse_noise'`` or
            ``'speckle_noise'``.
        severity (int | Sequence[int]): 1..5, or an inclusive ``(low, high)`` range from which
            each image draws its severity uniformly. Defaults to 3.
        quantize (bool): As the package's ``corrupt()``: snap the clean image to 8 bits first and
            truncate the result to 8 bits (``floor(255 * y) / 255``). False keeps the corrupted
            values continuous. Defaults to True.

    Example:
        >>> noise = CorruptionNoise('shot_noise', severity=5)
        >>> noisy, level = noise(torch.full((2, 3, 8, 8), 0.5), seeds=[1, 2])
        >>> noisy.shape, bool(((noisy * 255).round() == noisy * 255).all())
        (torch.Size([2, 3, 8, 8]), True)
    """

    def __init__(self,
                 corruption: str,
                 severity: Union[int, Sequence[int]] = 3,
                 quantize: bool = True) -> None:
        super().__init__()
        if corruption not in NOISE_CORRUPTIONS:
            raise ValueError(f'CorruptionNoise: unknown corruption {corruption!r}; '
                             f'known: {list(NOISE_CORRUPTIONS)}')
        self.corruption = corruption
        self.severity_range = _severity_range(severity)
        self.quantize = quantize

    def draw_severity(self, num_images: int, generators: Generators) -> Tensor:
        """One severity per image, ``(N,)`` int64 on the CPU (from the image's generator)."""
        low, high = self.severity_range
        if low == high:
            return torch.full((num_images, ), low, dtype=torch.int64)
        if generators is None:
            return torch.randint(low, high + 1, (num_images, ))
        return torch.cat([torch.randint(low, high + 1, (1, ), generator=g, device=g.device)
                          for g in generators]).cpu()

    def forward(self,
                clean: Tensor,
                seeds: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """Corrupt the images.

        Args:
            clean (Tensor): ``(N, C, H, W)`` float in ``[0, 1]``.
            seeds (Sequence[int], optional): One seed per image, or ``None``. Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: ``noisy`` ``(N, C, H, W)`` in ``[0, 1]`` (dtype and device of
            ``clean``) and ``noise_level`` ``(N,)``, the RMS of ``noisy - clean``.
        """
        check_clean_batch(clean)
        generators = make_generators(seeds, clean.shape[0], clean.device)
        severity = self.draw_severity(clean.shape[0], generators)
        table = torch.tensor(NOISE_CORRUPTIONS[self.corruption], dtype=WORK_DTYPE)
        constant = table[severity - 1].to(clean.device)
        x = to_8bit_grid(clean) if self.quantize else clean.detach().to(WORK_DTYPE)
        noisy = corrupt(x, self.corruption, constant, generators)
        if self.quantize:
            noisy = truncate_to_8bit(noisy)
        level = (noisy - clean.detach().to(WORK_DTYPE)).pow(2).mean(dim=(1, 2, 3)).sqrt()
        return noisy.to(clean.dtype), level.to(clean.dtype)

    def extra_repr(self) -> str:
        return (f'corruption={self.corruption!r}, severity={self.severity_range}, '
                f'quantize={self.quantize}')
