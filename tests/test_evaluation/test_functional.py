"""Tests of the PSNR / SSIM functions against hand-computed values, OpenCV and scikit-image."""
import doctest
import math

import numpy as np
import pytest
import torch

from mmsemdenoise.evaluation import functional
from mmsemdenoise.evaluation.functional import psnr, rgb_to_y, ssim


def image_pair(num: int = 2, height: int = 40, width: int = 48, sigma: float = 20.0, seed: int = 0):
    """Integer images on 0-255 and noisy, clipped, rounded versions: (num, 3, H, W) each."""
    gen = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 200, width)
    target = (ramp[None, None, None, :] +
              40 * torch.rand(num, 3, height, width, generator=gen)).round()
    pred = (target + sigma * torch.randn(target.shape, generator=gen)).clamp(0, 255).round()
    return pred, target


def cv2_ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """BasicSR / mmagic reference: cv2.filter2D, 11x11 Gaussian, 'valid' crop, channel mean."""
    cv2 = pytest.importorskip('cv2')
    c1, c2 = (0.01 * 255)**2, (0.03 * 255)**2
    kernel = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(kernel, kernel.transpose())
    values = []
    for x, y in zip(pred.astype(np.float64), target.astype(np.float64)):
        mu_x = cv2.filter2D(x, -1, window)[5:-5, 5:-5]
        mu_y = cv2.filter2D(y, -1, window)[5:-5, 5:-5]
        var_x = cv2.filter2D(x * x, -1, window)[5:-5, 5:-5] - mu_x**2
        var_y = cv2.filter2D(y * y, -1, window)[5:-5, 5:-5] - mu_y**2
        cov = cv2.filter2D(x * y, -1, window)[5:-5, 5:-5] - mu_x * mu_y
        ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) *
                                                                (var_x + var_y + c2))
        values.append(ssim_map.mean())
    return float(np.mean(values))


def test_psnr_constant_offset_by_hand():
    target = torch.full((2, 3, 8, 8), 100.0)
    offsets = torch.tensor([5.0, 10.0]).view(2, 1, 1, 1)
    values = psnr(target + offsets, target)
    expected = [10 * math.log10(255**2 / 25), 10 * math.log10(255**2 / 100)]
    assert values.shape == (2, )
    assert values.tolist() == pytest.approx(expected, abs=1e-10)
    assert psnr(
        (target + 5) / 255, target / 255, max_val=1.0).tolist() == pytest.approx([expected[0]] * 2)


def test_psnr_identical_is_inf():
    pred, target = image_pair(2)
    pred[1] = target[1]
    values = psnr(pred, target)
    assert math.isfinite(values[0].item())
    assert values[1].item() == math.inf


def test_psnr_is_per_image_not_batch_mse():
    pred, target = image_pair(3)
    pred[2] = (target[2] + 1).clamp(max=255)
    batch = psnr(pred, target)
    singles = torch.cat([psnr(pred[i:i + 1], target[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(batch, singles)
    pooled_mse = (pred.double() - target.double()).pow(2).mean()
    assert batch.mean().item() != pytest.approx(
        10 * math.log10(255**2 / pooled_mse.item()), abs=0.1)


def test_crop_border():
    pred, target = image_pair(1, 32, 32)
    damaged = pred.clone()
    damaged[..., :3, :] = 0  # only the border differs
    assert psnr(damaged, pred, crop_border=3).item() == math.inf
    assert psnr(damaged, pred).item() < 30
    torch.testing.assert_close(
        ssim(pred, target, crop_border=4), ssim(pred[..., 4:-4, 4:-4], target[..., 4:-4, 4:-4]))
    with pytest.raises(ValueError, match='crop_border'):
        psnr(pred, target, crop_border=16)


def test_ssim_identical_and_symmetric():
    pred, target = image_pair(2)
    assert ssim(target, target).tolist() == pytest.approx([1.0, 1.0], abs=1e-12)
    forward, backward = ssim(pred, target), ssim(target, pred)
    torch.testing.assert_close(forward, backward)
    assert (forward < 0.95).all() and (forward > 0).all()


def test_ssim_constant_images_by_hand():
    # Constant images: all variances are 0, so SSIM = (2 mx my + C1) / (mx^2 + my^2 + C1).
    c1 = (0.01 * 255)**2
    value = ssim(torch.full((1, 3, 16, 16), 105.0), torch.full((1, 3, 16, 16), 100.0)).item()
    assert value == pytest.approx((2 * 105 * 100 + c1) / (105**2 + 100**2 + c1), abs=1e-12)


def test_ssim_matches_opencv_reference():
    pred, target = image_pair(2)
    values = ssim(pred, target)
    for i in range(2):
        assert values[i].item() == pytest.approx(
            cv2_ssim(pred[i].numpy(), target[i].numpy()), abs=1e-8)


def test_matches_scikit_image():
    metrics = pytest.importorskip('skimage.metrics')
    pred, target = image_pair(3, sigma=15.0, seed=1)
    ours_psnr, ours_ssim = psnr(pred, target), ssim(pred, target)
    for i in range(3):
        p = pred[i].permute(1, 2, 0).numpy().astype(np.uint8)
        t = target[i].permute(1, 2, 0).numpy().astype(np.uint8)
        ref_psnr = metrics.peak_signal_noise_ratio(t, p, data_range=255)
        ref_ssim = metrics.structural_similarity(
            t,
            p,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
            channel_axis=2)
        assert ours_psnr[i].item() == pytest.approx(ref_psnr, abs=1e-3)
        assert ours_ssim[i].item() == pytest.approx(ref_ssim, abs=1e-4)


def test_rgb_to_y_range():
    white, black = torch.full((1, 3, 2, 2), 255.0), torch.zeros(1, 3, 2, 2)
    assert rgb_to_y(white).flatten().tolist() == pytest.approx([235.0] * 4, abs=1e-3)
    assert rgb_to_y(black).flatten().tolist() == pytest.approx([16.0] * 4)
    assert rgb_to_y(white).shape == (1, 1, 2, 2)


def test_input_errors():
    with pytest.raises(ValueError, match='pred and target'):
        psnr(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9))
    with pytest.raises(ValueError, match='at least 11x11'):
        ssim(torch.zeros(1, 3, 10, 30), torch.zeros(1, 3, 10, 30))


def test_docstring_examples():
    result = doctest.testmod(functional, extraglobs={'torch': torch})
    assert result.attempted >= 2 and result.failed == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu():
    pred, target = image_pair(2)
    torch.testing.assert_close(psnr(pred.cuda(), target.cuda()).cpu(), psnr(pred, target))
    torch.testing.assert_close(ssim(pred.cuda(), target.cuda()).cpu(), ssim(pred, target))
