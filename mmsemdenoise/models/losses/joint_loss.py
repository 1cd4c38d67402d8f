"""The paper's joint loss, L = w_rec * L_rec(denoised, clean) + lambda * L_task."""
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmsemdenoise.registry import MODELS
from mmsemdenoise.structures import ImageBatch, Images

LossValue = Union[torch.Tensor, list]


@MODELS.register_module()
class JointLoss(nn.Module):
    """Weight and name the terms of the joint loss so that each one shows in the logs.

    The task terms are whatever the frozen task model's own ``loss()`` returns (mmseg: decode and
    auxiliary head losses; mmpretrain: the head's loss), or the label-free distillation term.
    Entries whose key contains ``"loss"`` are multiplied by ``task_weight`` and renamed
    ``loss_task_<key>`` (summed by mmengine's ``parse_losses``); the others (accuracies) are kept
    as ``task_<key>`` for logging only.

    Scale: images are in [0, 1] and ``MSELoss`` averages over pixels, so
    ``task_weight = lambda_255 / 65025`` reproduces a weight ``lambda_255`` set relative to the
    per-pixel MSE on 0-255 images. The released code's Caffe weights correspond to
    lambda_255 ~ 266 for classification and ~ 1286 for segmentation, i.e. ``task_weight`` ~ 0.0041
    and ~ 0.0198 here (see README, "Loss scale").

    Args:
        rec_loss (dict | nn.Module): Reconstruction loss config or module.
            Defaults to ``dict(type='MSELoss')``.
        rec_weight (float): w_rec. Defaults to 1.0.
        task_weight (float): lambda. 0 reduces the cascade to stage-1 (denoiser-only) training.
            Defaults to 0.0.
    """

    def __init__(self,
                 rec_loss: Union[dict, nn.Module, None] = None,
                 rec_weight: float = 1.0,
                 task_weight: float = 0.0) -> None:
        super().__init__()
        if rec_weight < 0 or task_weight < 0:
            raise ValueError(f'loss weights must be >= 0, got rec_weight={rec_weight}, '
                             f'task_weight={task_weight}')
        rec_loss = dict(type='MSELoss') if rec_loss is None else rec_loss
        self.rec_loss = MODELS.build(rec_loss) if isinstance(rec_loss, dict) else rec_loss
        self.rec_weight = rec_weight
        self.task_weight = task_weight

    @property
    def uses_task(self) -> bool:
        """Whether the task term is in the loss (``task_weight > 0``)."""
        return self.task_weight > 0

    def forward(self,
                denoised: Union[ImageBatch, Images],
                clean: Union[ImageBatch, Images],
                task_losses: Optional[Dict[str, LossValue]] = None) -> Dict[str, LossValue]:
        """Compute the weighted, named terms.

        Args:
            denoised (ImageBatch | Tensor | list[Tensor]): The denoiser's output in [0, 1] (not
                clamped): the cascade's :class:`~mmsemdenoise.structures.ImageBatch`, or
                (N, 3, H, W), or a list of (3, H_i, W_i) for a batch of mixed sizes.
            clean (ImageBatch | Tensor | list[Tensor]): The clean images, same layout.
            task_losses (dict, optional): The task model's loss dict. Defaults to None.

        Returns:
            dict: ``loss_rec`` and ``loss_task_*`` (to be summed), ``task_*`` (logged only).
        """
        denoised, clean = ImageBatch.of(denoised), ImageBatch.of(clean)
        rec = denoised.image_mean(  # mixed sizes: every image counts the same
            [self.rec_loss(d, c) for d, c in zip(denoised.groups, clean.groups)])
        losses: Dict[str, LossValue] = {'loss_rec': self.rec_weight * rec}
        for key, value in (task_losses or {}).items():
            if 'loss' in key:
                losses[f'loss_task_{key}'] = _scale(value, self.task_weight)
            else:
                losses[f'task_{key}'] = value
        return losses


def _scale(value: LossValue, weight: float) -> LossValue:
    return [weight * v for v in value] if isinstance(value, list) else weight * value


def distillation_loss(student_logits: torch.Tensor,
                      teacher_logits: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
    """Label-free task loss: KL(teacher || student) over the class dimension (dim 1).

    The teacher is the frozen task model on the clean image, the student the same model on the
    denoised image, so no annotation is needed.

    Args:
        student_logits (Tensor): (N, C) or (N, C, h, w) logits on the denoised image.
        teacher_logits (Tensor): same shape, logits on the clean image (no gradient needed).
        temperature (float): Softmax temperature T; the loss is multiplied by T**2 as in
            Hinton et al. (2015). Defaults to 1.0.

    Returns:
        Tensor: () KL divergence averaged over images (and pixels).
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f'distillation: student logits {tuple(student_logits.shape)} and '
                         f'teacher logits {tuple(teacher_logits.shape)} differ in shape')
    log_p_student = F.log_softmax(student_logits.float() / temperature, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits.float() / temperature, dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(dim=1)
    return kl.mean() * temperature ** 2
