"""Example images of a run: one output of the cascade (a data sample) as numpy arrays, the input
of the example grids (:func:`.sweep_report.example_grid`, :func:`.sweep_report.tile_grid`)."""
from typing import Dict, Optional

import numpy as np

#: One example image of a run (see :func:`example_of`).
Example = Dict[str, Optional[np.ndarray]]


def example_of(sample) -> Example:
    """One output of the cascade as numpy arrays for the example grids.

    Returns:
        dict: ``image`` (H, W, 3) uint8 RGB (the denoised input of the task model), ``clean``
        and ``noisy`` (the same for the clean and the noisy image), ``pred_mask`` / ``gt_mask``
        (h, w) int (mmseg) or ``pred_label`` / ``gt_label`` int (mmpretrain), and
        ``clean_label``, the class predicted on the clean image (``predict_clean``); None where
        absent.
    """
    clean_prediction = sample.get('clean_prediction')
    return dict(image=_to_uint8(sample.get('pred_img')), clean=_to_uint8(sample.get('gt_img')),
                noisy=_to_uint8(sample.get('noisy_img')),
                pred_mask=_mask(sample.get('pred_sem_seg')),
                gt_mask=_mask(sample.get('gt_sem_seg')),
                pred_label=_label(sample.get('pred_label')),
                gt_label=_label(sample.get('gt_label')),
                clean_label=None if clean_prediction is None else
                _label(clean_prediction.get('pred_label')))


def _to_uint8(img) -> Optional[np.ndarray]:
    if img is None:
        return None
    return img.detach().float().clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()


def _mask(pixel_data) -> Optional[np.ndarray]:
    return None if pixel_data is None else pixel_data.data[0].detach().cpu().numpy()


def _label(label) -> Optional[int]:
    return None if label is None or label.numel() == 0 else int(label.flatten()[0])
