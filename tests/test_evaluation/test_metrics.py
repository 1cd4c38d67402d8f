"""Tests of the registered PSNR / SSIM metrics through mmengine's Evaluator and directly."""
import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement, PixelData

from mmsemdenoise.evaluation import PSNR, SSIM, psnr, ssim
from mmsemdenoise.registry import METRICS


def samples(num: int = 3, size: int = 24, seed: int = 0):
    """Unrounded predictions and integer ground truths (3, H, W) on 0-255, noise per image."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(num):
        gt = (torch.rand(3, size, size, generator=gen) * 255).round()
        pred = gt + (5.0 + 10 * i) * torch.randn(gt.shape, generator=gen)
        out.append((pred, gt))
    return out


def quantized(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(0, 255).round()


def test_evaluator_reports_per_image_means():
    pairs = samples()
    evaluator = Evaluator([METRICS.build(dict(type='PSNR')), METRICS.build(dict(type='SSIM'))])
    # The model may return BaseDataElements or plain dicts; feed both, in two batches.
    evaluator.process([BaseDataElement(pred_img=p, gt_img=g) for p, g in pairs[:2]])
    evaluator.process([dict(pred_img=pairs[2][0], gt_img=pairs[2][1])])
    results = evaluator.evaluate(3)
    assert set(results) == {'denoise/psnr', 'denoise/ssim'}
    expected_psnr = np.mean([psnr(quantized(p)[None], g[None]).item() for p, g in pairs])
    expected_ssim = np.mean([ssim(quantized(p)[None], g[None]).item() for p, g in pairs])
    assert results['denoise/psnr'] == pytest.approx(expected_psnr, abs=1e-9)
    assert results['denoise/ssim'] == pytest.approx(expected_ssim, abs=1e-9)
    # Per-image averaging differs from the PSNR of the pooled MSE (noise levels differ per image).
    pooled = np.mean([(quantized(p) - g).pow(2).mean().item() for p, g in pairs])
    assert results['denoise/psnr'] > 10 * math.log10(255**2 / pooled) + 0.5


def test_quantize_option():
    gt = torch.full((3, 16, 16), 100.0)
    metric = PSNR()
    metric.process(None, [dict(pred_img=gt + 0.4, gt_img=gt)])  # rounds back to the ground truth
    assert metric.compute_metrics(metric.results) == {'psnr': math.inf}
    raw = PSNR(quantize=False)
    raw.process(None, [dict(pred_img=gt + 0.4, gt_img=gt)])
    assert raw.compute_metrics(raw.results)['psnr'] == pytest.approx(10 * math.log10(255**2 / 0.16))
    clamped = PSNR()
    clamped.process(
        None,
        [dict(pred_img=torch.full((3, 16, 16), 300.0), gt_img=torch.full((3, 16, 16), 255.0))])
    assert clamped.results == [math.inf]


def test_crop_border_and_y_channel():
    (pred, gt), = samples(1)
    cropped = SSIM(crop_border=4)
    cropped.process(None, [dict(pred_img=pred, gt_img=gt)])
    expected = ssim(quantized(pred)[None, :, 4:-4, 4:-4], gt[None, :, 4:-4, 4:-4]).item()
    assert cropped.results[0] == pytest.approx(expected, abs=1e-12)
    luma = PSNR(convert_to='Y')
    luma.process(None, [dict(pred_img=pred, gt_img=gt)])
    weights = torch.tensor([65.481, 128.553, 24.966]).view(3, 1, 1) / 255
    y_pred, y_gt = (quantized(pred) * weights).sum(0) + 16, (gt * weights).sum(0) + 16
    assert luma.results[0] == pytest.approx(
        psnr(y_pred[None, None], y_gt[None, None]).item(), abs=1e-4)


def test_static_calculate_is_per_image():
    pairs = samples(2)
    pred = torch.stack([p for p, _ in pairs])
    gt = torch.stack([g for _, g in pairs])
    values = PSNR.calculate(pred, gt)
    assert values.shape == (2, ) and values[0] > values[1]  # the second image is noisier
    assert SSIM.calculate(gt, gt).tolist() == pytest.approx([1.0, 1.0])


def test_accepts_pixeldata_numpy_and_custom_keys():
    (pred, gt), = samples(1)
    metric = PSNR(pred_key='noisy_img', prefix='noisy')
    sample = BaseDataElement(noisy_img=PixelData(data=pred), gt_img=gt.numpy())
    evaluator = Evaluator(metric)
    evaluator.process([sample])
    result = evaluator.evaluate(1)
    assert result['noisy/psnr'] == pytest.approx(psnr(quantized(pred)[None], gt[None]).item())


def test_errors_name_the_problem():
    with pytest.raises(KeyError, match='pred_img'):
        PSNR().process(None, [dict(gt_img=torch.zeros(3, 16, 16))])
    with pytest.raises(ValueError, match=r'\(C, H, W\)'):
        PSNR().process(None,
                       [dict(pred_img=torch.zeros(1, 3, 16, 16), gt_img=torch.zeros(1, 3, 16, 16))])
    with pytest.raises(ValueError, match='convert_to'):
        SSIM(convert_to='ycbcr')
