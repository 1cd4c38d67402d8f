"""CleanAgreement on hand-made predictions (through mmengine's Evaluator) and its errors."""
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement, PixelData

from mmsemdenoise.evaluation import CleanAgreement


def cls_sample(pred: int, clean: int) -> BaseDataElement:
    return BaseDataElement(pred_label=torch.tensor([pred]),
                           clean_prediction=BaseDataElement(pred_label=torch.tensor([clean])))


def seg_sample(pred: torch.Tensor, clean: torch.Tensor) -> BaseDataElement:
    return BaseDataElement(pred_sem_seg=PixelData(data=pred),
                           clean_prediction=BaseDataElement(pred_sem_seg=PixelData(data=clean)))


def test_top1_agreement_is_the_percent_of_images():
    evaluator = Evaluator(CleanAgreement())
    evaluator.process([cls_sample(3, 3), cls_sample(1, 2)])
    evaluator.process([cls_sample(7, 7)])
    assert evaluator.evaluate(3) == {'clean_agreement/top1': pytest.approx(200 / 3)}


def test_pixel_agreement_counts_pixels_over_all_images():
    a = torch.zeros(1, 2, 2, dtype=torch.long)
    b = a.clone()
    b[0, 0, 0] = 5  # 1 of 4 pixels differs
    evaluator = Evaluator(CleanAgreement())
    evaluator.process([seg_sample(a, b), seg_sample(a, a)])
    assert evaluator.evaluate(2) == {'clean_agreement/pixel': pytest.approx(100 * 7 / 8)}


def test_missing_clean_prediction_names_the_config_switch():
    metric = CleanAgreement()
    with pytest.raises(KeyError, match='predict_clean=True'):
        metric.process(None, [BaseDataElement(pred_label=torch.tensor([1])).to_dict()])


def test_shape_mismatch_is_reported():
    metric = CleanAgreement()
    bad = seg_sample(torch.zeros(1, 2, 2, dtype=torch.long), torch.zeros(1, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r'\(1, 2, 2\).*\(1, 3, 3\)'):
        metric.process(None, [bad.to_dict()])
