"""Classical (non-learned) colour denoisers behind the package's denoiser interface.

Baselines for the noise sweep (``tools/analysis/noise_sweep.py``): they run per image on the CPU
through real library implementations, without gradients:

* ``'nlm'``: non-local means (Buades et al., CVPR 2005), scikit-image's ``denoise_nl_means`` in
  its fast mode with the noise variance subtracted from the patch distances, ``h = 0.6 * sigma``,
  5x5 patches searched within 6 pixels: the settings scikit-image's documentation recommends
  when sigma is known (on CamVid frames at 240x180 they beat ``h = 0.4/0.8/1.0 * sigma`` at
  sigma 15 and 30; 0.04 s per image on one core).
* ``'bm3d'``: BM3D (Dabov et al., TIP 2007) in the opponent colour space, ``bm3d_rgb`` of the
  ``bm3d`` package (Mäkinen et al.'s reference implementation, PyPI ``bm3d``). Stronger, but
  ~5 s per 240x180 image on one busy core, so it is optional and not the default.

The noise level of each image is the one given to :meth:`ClassicalDenoiser.forward` (the
cascade passes the true sigma of its test noise: the usual non-blind protocol for BM3D), or, when
none is given or ``blind=True``, the estimate of scikit-image's ``estimate_sigma`` (Donoho's
wavelet MAD estimator).
"""
from functools import partial
from typing import Callable, Dict, Optional

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from mmsemdenoise.registry import MODELS
from .checks import check_noisy

#: Below this sigma (0-1 scale) an image is returned unchanged: there is nothing to remove and
#: both methods divide by sigma.
MIN_SIGMA = 1e-4


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Estimate the Gaussian noise level of one image (scikit-image's ``estimate_sigma``).

    Args:
        image (np.ndarray): (H, W, 3) float, RGB in [0, 1] (noisy values may leave the range).

    Returns:
        float: Sigma on the 0-1 scale, averaged over the channels.
    """
    from skimage.restoration import estimate_sigma
    return float(estimate_sigma(image, channel_axis=-1, average_sigmas=True))


def nlm_denoise(image: np.ndarray,
                sigma: float,
                h_factor: float = 0.6,
                patch_size: int = 5,
                patch_distance: int = 6) -> np.ndarray:
    """Non-local means (scikit-image ``denoise_nl_means``, fast mode, sigma known).

    Args:
        image (np.ndarray): (H, W, 3) float64, RGB in [0, 1], noisy.
        sigma (float): Noise standard deviation on the 0-1 scale.
        h_factor (float): Filter strength ``h`` in units of sigma. Defaults to 0.6.
        patch_size (int): Side of the compared patches. Defaults to 5.
        patch_distance (int): Search radius in pixels. Defaults to 6.

    Returns:
        np.ndarray: (H, W, 3) float64, the denoised image (not clipped).
    """
    from skimage.restoration import denoise_nl_means
    return denoise_nl_means(image, h=h_factor * sigma, sigma=sigma, fast_mode=True,
                            patch_size=patch_size, patch_distance=patch_distance,
                            channel_axis=-1)


def bm3d_denoise(image: np.ndarray, sigma: float) -> np.ndarray:
    """BM3D for colour images (``bm3d.bm3d_rgb``, opponent colour space).

    Args:
        image (np.ndarray): (H, W, 3) float64, RGB in [0, 1], noisy.
        sigma (float): Noise standard deviation on the 0-1 scale.

    Returns:
        np.ndarray: (H, W, 3) float64, the denoised image (not clipped).
    """
    from bm3d import bm3d_rgb
    return np.asarray(bm3d_rgb(image, sigma), dtype=np.float64)


#: Method name -> (function (image, sigma) -> image, the module it needs, its PyPI name).
METHODS: Dict[str, tuple] = {
    'nlm': (nlm_denoise, 'skimage', 'scikit-image'),
    'bm3d': (bm3d_denoise, 'bm3d', 'bm3d'),
}


def _check_method(method: str) -> Callable[..., np.ndarray]:
    if method not in METHODS:
        raise ValueError(f'unknown classical denoising method {method!r}; '
                         f'available: {sorted(METHODS)}')
    fn, module, package = METHODS[method]
    try:
        __import__(module)
    except ImportError as error:
        raise ImportError(f'classical denoiser {method!r} needs the {package!r} package: '
                          f'pip install {package}') from error
    return fn


@MODELS.register_module()
class ClassicalDenoiser(nn.Module):
    """Non-local means or BM3D as a denoiser module (CPU, per image, no gradients).

    Same interface as the networks: ``forward(noisy (N, 3, H, W) in [0, 1], noise_level (N,))``,
    the output on the input's device and dtype. It has no parameters, so it trains nothing; use
    it in front of a frozen task model at test time (``model.denoiser=dict(type=
    'ClassicalDenoiser')``).

    Args:
        method (str): ``'nlm'`` (scikit-image) or ``'bm3d'`` (the ``bm3d`` package).
            Defaults to 'nlm'.
        blind (bool): Ignore the given noise level and estimate it from each image.
            Defaults to False.
        h_factor (float): NLM filter strength in units of sigma. Defaults to 0.6.

    Example:
        >>> denoiser = ClassicalDenoiser('nlm')
        >>> out = denoiser(torch.rand(1, 3, 16, 16), torch.tensor([25 / 255]))
    """

    def __init__(self, method: str = 'nlm', blind: bool = False, h_factor: float = 0.6) -> None:
        super().__init__()
        fn = _check_method(method)
        self._fn = partial(fn, h_factor=h_factor) if method == 'nlm' else fn
        self.method = method
        self.blind = blind
        self.h_factor = h_factor

    def denoise_one(self, image: np.ndarray, sigma: Optional[float]) -> np.ndarray:
        """Denoise one image.

        Args:
            image (np.ndarray): (H, W, 3) float64, RGB in [0, 1], noisy.
            sigma (float, optional): Noise level on the 0-1 scale; None estimates it.

        Returns:
            np.ndarray: (H, W, 3) float64 (the input itself when sigma is about 0).
        """
        if sigma is None or self.blind:
            sigma = estimate_noise_sigma(image)
        if sigma < MIN_SIGMA:
            return image
        # scikit-image squeezes a side of one pixel away: (1, W, 3) comes back as (W, 3)
        return np.reshape(self._fn(image, sigma), image.shape)

    @torch.no_grad()
    def forward(self, noisy: Tensor, noise_level: Optional[Tensor] = None) -> Tensor:
        """Denoise a batch, one image at a time on the CPU.

        Args:
            noisy (Tensor): (N, 3, H, W) RGB in [0, 1] (noisy values may leave the range).
            noise_level (Tensor, optional): (N,) sigma / 255 of each image; None (or
                ``blind``) estimates it. Defaults to None.

        Returns:
            Tensor: (N, 3, H, W) denoised, not clamped, on ``noisy``'s device and dtype.
        """
        check_noisy(noisy, 3, self)
        if noise_level is not None and noise_level.numel() != noisy.shape[0]:
            raise ValueError(f'noise_level must hold one sigma per image ({noisy.shape[0]}), '
                             f'got shape {tuple(noise_level.shape)}')
        images = noisy.detach().cpu().double().permute(0, 2, 3, 1).contiguous().numpy()
        sigmas = ([None] * len(images) if noise_level is None else
                  noise_level.detach().cpu().double().flatten().tolist())
        out = np.stack([self.denoise_one(img, s) for img, s in zip(images, sigmas)])
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(noisy.device, noisy.dtype)

    def extra_repr(self) -> str:
        return f'method={self.method!r}, blind={self.blind}, h_factor={self.h_factor}'
