"""PSNR and SSIM per image, following the protocol of the image-restoration literature.

Both functions take float tensors ``(N, C, H, W)`` with values on the 0-255 scale, on any device,
and return one value per image, shape ``(N,)``, float64 (float32 on MPS, which lacks float64).
They match BasicSR's ``calculate_psnr`` / ``calculate_ssim`` (also mmagic's ``psnr`` / ``ssim``)
and scikit-image's ``peak_signal_noise_ratio`` / ``structural_similarity(gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255)``. Quantising predictions to integers is
left to the caller (see :class:`mmsemdenoise.evaluation.PSNR`).
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def _prepare(pred: Tensor, target: Tensor, crop_border: int) -> tuple:
    """Check shapes, crop ``crop_border`` pixels from each edge, cast to the accumulation dtype."""
    if not (isinstance(pred, Tensor) and isinstance(target, Tensor)):
        raise TypeError(
            f'pred and target must be tensors, got {type(pred).__name__}, {type(target).__name__}')
    if pred.shape != target.shape or pred.dim() != 4:
        raise ValueError(f'pred and target must both be (N, C, H, W), got {tuple(pred.shape)} and '
                         f'{tuple(target.shape)}')
    if crop_border < 0 or 2 * crop_border >= min(pred.shape[-2:]):
        raise ValueError(
            f'crop_border={crop_border} leaves nothing of images of size {tuple(pred.shape[-2:])}')
    if crop_border > 0:
        pred = pred[..., crop_border:-crop_border, crop_border:-crop_border]
        target = target[..., crop_border:-crop_border, crop_border:-crop_border]
    dtype = torch.float32 if pred.device.type == 'mps' else torch.float64
    return pred.to(dtype), target.to(target.device, dtype)


def rgb_to_y(img: Tensor) -> Tensor:
    """Luma Y of ITU-R BT.601 YCbCr as in MATLAB's ``rgb2ycbcr`` (and BasicSR, mmcv, mmagic).

    ``Y = 16 + (65.481 * R + 128.553 * G + 24.966 * B) / 255`` for R, G, B on the 0-255 scale.

    Args:
        img (Tensor): ``(N, 3, H, W)`` RGB on the 0-255 scale.

    Returns:
        Tensor: ``(N, 1, H, W)`` Y in ``[16, 235]``, dtype of ``img``.
    """
    if img.dim() != 4 or img.shape[1] != 3:
        raise ValueError(f'rgb_to_y needs RGB images (N, 3, H, W), got {tuple(img.shape)}')
    weights = torch.tensor([65.481, 128.553, 24.966], device=img.device, dtype=img.dtype) / 255.0
    return (img * weights.view(1, 3, 1, 1)).sum(dim=1, keepdim=True) + 16.0


def psnr(pred: Tensor, target: Tensor, max_val: float = 255.0, crop_border: int = 0) -> Tensor:
    """Peak signal-to-noise ratio of each image.

    ``PSNR = 10 * log10(max_val ** 2 / MSE)``, MSE the mean of ``(pred - target) ** 2`` over all
    ``C * H * W`` values of one image. Identical images give ``+inf`` (as BasicSR and scikit-image).
    Average the returned values over images yourself (per-image averaging, not a batch MSE).

    Args:
        pred (Tensor): ``(N, C, H, W)`` values in ``[0, max_val]``.
        target (Tensor): ``(N, C, H, W)`` values in ``[0, max_val]``.
        max_val (float): Largest possible value. Defaults to 255.
        crop_border (int): Pixels dropped at each edge before comparing. Defaults to 0.

    Returns:
        Tensor: ``(N,)`` PSNR in dB, ``+inf`` where the images are identical.

    Example:
        >>> target = torch.full((1, 3, 4, 4), 100.0)
        >>> psnr(target + 5, target)  # 10 * log10(255 ** 2 / 25)
        tensor([34.1514], dtype=torch.float64)
    """
    pred, target = _prepare(pred, target, crop_border)
    mse = (pred - target).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(max_val**2 / mse)  # mse == 0 -> inf


def _gaussian_kernel(size: int, sigma: float, like: Tensor) -> Tensor:
    """Normalised 1-D Gaussian ``(size,)`` (its outer product with itself is the 2-D window)."""
    coords = torch.arange(size, device=like.device, dtype=like.dtype) - (size - 1) / 2
    kernel = torch.exp(-coords**2 / (2 * sigma**2))
    return kernel / kernel.sum()


def _blur_valid(x: Tensor, kernel: Tensor) -> Tensor:
    """Each channel of ``x`` ``(N, C, H, W)`` filtered by the outer product of the 1-D ``kernel``
    ``(k,)`` with itself, where the window lies inside the image: ``(N, C, H-k+1, W-k+1)``.

    Separable (a column pass, then a row pass): 2k products per pixel instead of k^2, the same
    values up to float rounding (~1e-14 on 0-255 images in float64). The batch is folded into the
    channels of one image: on a CPU, PyTorch's depthwise float64 convolution of a batch of 8
    took ~7x longer per image than of one image (benchmarks/ssim.py, docs/benchmarks.md).
    """
    batch, channels, height, width = x.shape
    groups, size = batch * channels, kernel.numel()
    column = kernel.view(1, 1, size, 1).expand(groups, 1, size, 1)
    row = kernel.view(1, 1, 1, size).expand(groups, 1, 1, size)
    flat = x.reshape(1, groups, height, width)
    out = F.conv2d(F.conv2d(flat, column, groups=groups), row, groups=groups)
    return out.reshape(batch, channels, *out.shape[-2:])


def ssim(pred: Tensor,
         target: Tensor,
         max_val: float = 255.0,
         crop_border: int = 0,
         window_size: int = 11,
         sigma: float = 1.5,
         k1: float = 0.01,
         k2: float = 0.03) -> Tensor:
    """Structural similarity (Wang et al., TIP 2004) of each image, as in the authors' MATLAB code.

    Local statistics use a normalised ``window_size`` x ``window_size`` Gaussian of std ``sigma``,
    computed only where the window lies inside the image (MATLAB ``filter2(..., 'valid')``)::

        SSIM map = ((2 mu_x mu_y + C1) (2 sigma_xy + C2))
                   / ((mu_x^2 + mu_y^2 + C1) (sigma_x^2 + sigma_y^2 + C2))

    with ``C1 = (k1 * max_val) ** 2``, ``C2 = (k2 * max_val) ** 2`` and population (not sample)
    variances. The map is averaged per channel, then over channels.

    Args:
        pred (Tensor): ``(N, C, H, W)`` values in ``[0, max_val]``.
        target (Tensor): ``(N, C, H, W)`` values in ``[0, max_val]``.
        max_val (float): Dynamic range L. Defaults to 255.
        crop_border (int): Pixels dropped at each edge before comparing. Defaults to 0.
        window_size (int): Side of the Gaussian window. Defaults to 11.
        sigma (float): Std of the Gaussian window. Defaults to 1.5.
        k1 (float): Stabiliser of the luminance term. Defaults to 0.01.
        k2 (float): Stabiliser of the contrast-structure term. Defaults to 0.03.

    Returns:
        Tensor: ``(N,)`` SSIM, 1 for identical images.

    Example:
        >>> img = torch.arange(3 * 16 * 16, dtype=torch.float64).reshape(1, 3, 16, 16) % 256
        >>> ssim(img, img)
        tensor([1.], dtype=torch.float64)
    """
    pred, target = _prepare(pred, target, crop_border)
    if min(pred.shape[-2:]) < window_size:
        raise ValueError(
            f'SSIM needs images of at least {window_size}x{window_size} pixels after cropping, '
            f'got {tuple(pred.shape[-2:])}')
    kernel = _gaussian_kernel(window_size, sigma, pred)
    # the five local means in one filtering call: E[x], E[y], E[x^2], E[y^2], E[xy]
    moments = torch.cat([pred, target, pred * pred, target * target, pred * target], dim=1)
    mu_x, mu_y, mean_xx, mean_yy, mean_xy = _blur_valid(moments, kernel).chunk(5, dim=1)
    c1, c2 = (k1 * max_val)**2, (k2 * max_val)**2
    var_x = mean_xx - mu_x.pow(2)
    var_y = mean_yy - mu_y.pow(2)
    cov_xy = mean_xy - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)) / ((mu_x.pow(2) + mu_y.pow(2) + c1) *
                                                               (var_x + var_y + c2))
    return ssim_map.mean(dim=(2, 3)).mean(dim=1)
