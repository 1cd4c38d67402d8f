"""Label-free task metric: how often the prediction on the denoised image equals the clean one's.

With ``model.predict_clean=True`` the :class:`~mmsemdenoise.models.DenoisingCascade` keeps, for
each test image, the frozen task model's prediction on the CLEAN image as ``clean_prediction``
next to its prediction on the denoised noisy image. This metric compares the two, so it needs no
annotation: it measures how much of the task model's clean behaviour survives noise + denoiser
(100 for the clean input by construction).

- classification (``pred_label``): top-1 agreement, percent of images;
- segmentation (``pred_sem_seg``): pixel agreement, percent of pixels (over all images).

Example config::

    model = dict(..., predict_clean=True)
    test_evaluator = [dict(type='mmsemdenoise.CleanAgreement'), dict(type='mmsemdenoise.PSNR')]
    # -> 'clean_agreement/top1' (or 'clean_agreement/pixel')
"""
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmsemdenoise.registry import METRICS

FIELDS = {'pred_label': 'top1', 'pred_sem_seg': 'pixel'}


def _get(sample: Any, key: str) -> Any:
    return sample.get(key) if hasattr(sample, 'get') else getattr(sample, key, None)


def _prediction(sample: Any, field: str) -> torch.Tensor:
    value = _get(sample, field)
    if value is not None and not isinstance(value, torch.Tensor):
        value = _get(value, 'data')  # PixelData (or its dict form) of a segmentation
    return value


@METRICS.register_module()
class CleanAgreement(BaseMetric):
    """Agreement (percent) of the task prediction on denoised vs clean images.

    Args:
        collect_device (str): Where results are gathered in distributed runs. Defaults to 'cpu'.
        prefix (str, optional): Key prefix. Defaults to 'clean_agreement'.
    """

    default_prefix: Optional[str] = 'clean_agreement'

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        for sample in data_samples:
            reference = _get(sample, 'clean_prediction')
            if reference is None:
                raise KeyError('CleanAgreement: the data sample has no "clean_prediction"; '
                               'set model.predict_clean=True in the DenoisingCascade config')
            field = next((f for f in FIELDS if _get(sample, f) is not None), None)
            if field is None:
                raise KeyError(f'CleanAgreement: the data sample has none of {list(FIELDS)}')
            pred, ref = _prediction(sample, field), _prediction(reference, field)
            if pred.shape != ref.shape:
                raise ValueError(f'CleanAgreement: {field} has shape {tuple(pred.shape)} on the '
                                 f'denoised image but {tuple(ref.shape)} on the clean one')
            if field == 'pred_label':
                pred, ref = pred.reshape(-1)[:1], ref.reshape(-1)[:1]  # the top-1 class
            self.results.append((FIELDS[field], (pred == ref).sum().item(), pred.numel()))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        kinds = {kind for kind, _, _ in results}
        if len(kinds) != 1:
            raise ValueError(f'CleanAgreement: mixed prediction kinds {sorted(kinds)}')
        equal = sum(r[1] for r in results)
        total = sum(r[2] for r in results)
        return {kinds.pop(): 100.0 * equal / max(total, 1)}
