"""PSNR and SSIM as mmengine metrics, for the Runner's val/test evaluators.

Each data sample the model returns (a dict or a ``BaseDataElement``) carries the denoised image
``pred_img`` and the clean image ``gt_img``: tensors ``(3, H, W)``, RGB, float on the 0-255 scale
(the prediction unrounded). Following the literature protocol, both are quantised to 8 bits
(clamped to ``[0, 255]`` and rounded) before comparison, so the numbers are those of the saved
PNG images. Each image gets its own value; the reported figure is the mean over images.

Example config::

    val_evaluator = [dict(type='PSNR'), dict(type='SSIM')]  # -> 'denoise/psnr', 'denoise/ssim'
"""
import logging
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from torch import Tensor

from mmsemdenoise.registry import METRICS
from .functional import psnr, rgb_to_y, ssim


def _fetch_image(data_sample: Any, key: str) -> Tensor:
    """Read image ``key`` of one data sample as a float tensor ``(C, H, W)``.

    Accepts plain dicts and ``BaseDataElement`` s; the value may be a tensor, a numpy array, or a
    ``PixelData`` (or its dict form) holding the image in ``data``.
    """
    if hasattr(data_sample, 'get'):
        value = data_sample.get(key, None)
    else:
        value = getattr(data_sample, key, None)
    if value is None:
        held = list(data_sample.keys()) if hasattr(data_sample, 'keys') else data_sample
        raise KeyError(f'data sample has no {key!r}; it holds {held}')
    if not isinstance(value, (Tensor, np.ndarray)) and hasattr(value, 'get'):
        value = value.get('data', value)
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, Tensor) or value.dim() != 3:
        got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f'{key!r} must be an image tensor (C, H, W) on the 0-255 scale, got {got}')
    return value.float()


def preprocess(img: Tensor, quantize: bool = True, convert_to: str = 'rgb') -> Tensor:
    """Apply the evaluation protocol to images before PSNR/SSIM.

    Args:
        img (Tensor): ``(N, 3, H, W)`` RGB on the 0-255 scale.
        quantize (bool): Clamp to ``[0, 255]`` and round to integers (8-bit quantisation).
            Defaults to True.
        convert_to (str): ``'rgb'`` keeps the channels; ``'y'`` takes the BT.601 luma
            (:func:`~mmsemdenoise.evaluation.functional.rgb_to_y`), not rounded. Defaults to 'rgb'.

    Returns:
        Tensor: ``(N, 3, H, W)`` or ``(N, 1, H, W)`` (for ``'y'``), float.
    """
    img = img.float()
    if quantize:
        img = img.clamp(0, 255).round()
    if convert_to.lower() == 'y':
        img = rgb_to_y(img)
    return img


class _ImageQualityMetric(BaseMetric):
    """Shared ``process`` / ``compute_metrics`` of :class:`PSNR` and :class:`SSIM`.

    Subclasses set ``metric_name`` and ``score_fn``, the per-image function of
    :mod:`.functional` that :meth:`calculate` applies after the evaluation protocol.

    Args:
        crop_border (int): Pixels dropped at each edge before comparing. Defaults to 0.
        convert_to (str): ``'rgb'`` (all channels) or ``'y'`` (luma only, as in super-resolution
            papers). Defaults to 'rgb'.
        quantize (bool): Clamp both images to ``[0, 255]`` and round them to integers before
            comparing, as when evaluating saved 8-bit images. Defaults to True.
        pred_key (str): Key of the prediction in each data sample. Defaults to 'pred_img'.
        gt_key (str): Key of the clean image in each data sample. Defaults to 'gt_img'.
        collect_device (str): ``'cpu'`` or ``'gpu'``, to gather results across ranks.
            Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names; ``default_prefix`` if None.
    """

    default_prefix: Optional[str] = 'denoise'
    metric_name = ''
    score_fn: Callable[..., Tensor]

    @classmethod
    def calculate(cls,
                  pred: Tensor,
                  target: Tensor,
                  crop_border: int = 0,
                  convert_to: str = 'rgb',
                  quantize: bool = True) -> Tensor:
        """The metric of each image after the evaluation protocol.

        Args:
            pred (Tensor): ``(N, 3, H, W)`` RGB predictions on the 0-255 scale.
            target (Tensor): ``(N, 3, H, W)`` RGB ground truth on the 0-255 scale.
            crop_border (int): Pixels dropped at each edge. Defaults to 0.
            convert_to (str): ``'rgb'`` or ``'y'``. Defaults to 'rgb'.
            quantize (bool): Clamp and round both first. Defaults to True.

        Returns:
            Tensor: ``(N,)`` one value per image (PSNR: ``inf`` for identical images).
        """
        return cls.score_fn(
            preprocess(pred, quantize, convert_to),
            preprocess(target, quantize, convert_to),
            max_val=255.0,
            crop_border=crop_border)

    def __init__(self,
                 crop_border: int = 0,
                 convert_to: str = 'rgb',
                 quantize: bool = True,
                 pred_key: str = 'pred_img',
                 gt_key: str = 'gt_img',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if convert_to.lower() not in ('rgb', 'y'):
            raise ValueError(
                f"{type(self).__name__}.convert_to must be 'rgb' or 'y', got {convert_to!r}")
        if int(crop_border) < 0:
            raise ValueError(f'{type(self).__name__}.crop_border must be >= 0, got {crop_border}')
        self.crop_border = int(crop_border)
        self.convert_to = convert_to.lower()
        self.quantize = quantize
        self.pred_key = pred_key
        self.gt_key = gt_key

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Compute the metric of each returned sample and keep it as a CPU float.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict | BaseDataElement]): Model outputs with ``pred_key`` and
                ``gt_key`` images ``(C, H, W)`` on the 0-255 scale.
        """
        for data_sample in data_samples:
            pred = _fetch_image(data_sample, self.pred_key)
            target = _fetch_image(data_sample, self.gt_key).to(pred.device)
            value = self.calculate(
                pred[None],
                target[None],
                crop_border=self.crop_border,
                convert_to=self.convert_to,
                quantize=self.quantize)
            self.results.append(float(value[0]))

    def compute_metrics(self, results: List[float]) -> Dict[str, float]:
        """Average the per-image values.

        An image identical to its ground truth has PSNR ``+inf``; the mean is then reported as
        ``inf`` (honestly, not capped) with a warning naming how many images did so.

        Args:
            results (list[float]): One value per image.

        Returns:
            dict[str, float]: ``{metric_name: mean over images}``.
        """
        values = np.asarray(results, dtype=np.float64)
        infinite = int(np.isinf(values).sum())
        if infinite:
            print_log(
                f'{type(self).__name__}: {infinite} of {len(values)} images equal their '
                'ground truth (PSNR = inf); the mean is inf',
                logger='current',
                level=logging.WARNING)
        return {self.metric_name: float(values.mean())}


@METRICS.register_module()
class PSNR(_ImageQualityMetric):
    """Peak signal-to-noise ratio (dB), averaged over images. Reported as ``<prefix>/psnr``.

    See :class:`_ImageQualityMetric` for the arguments and
    :func:`~mmsemdenoise.evaluation.functional.psnr` for the formula (peak 255).
    """

    metric_name = 'psnr'
    score_fn = staticmethod(psnr)


@METRICS.register_module()
class SSIM(_ImageQualityMetric):
    """Structural similarity, averaged over images. Reported as ``<prefix>/ssim``.

    See :class:`_ImageQualityMetric` for the arguments and
    :func:`~mmsemdenoise.evaluation.functional.ssim` for the formula (11x11 Gaussian window,
    sigma 1.5, K1 0.01, K2 0.03, per channel on 0-255 values, averaged over channels).
    """

    metric_name = 'ssim'
    score_fn = staticmethod(ssim)
