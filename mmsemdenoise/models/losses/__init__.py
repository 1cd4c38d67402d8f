"""Reconstruction losses and the joint loss."""
from .joint_loss import JointLoss, distillation_loss
from .reconstruction import CharbonnierLoss, L1Loss, MSELoss, charbonnier_loss

__all__ = [
    'CharbonnierLoss', 'JointLoss', 'L1Loss', 'MSELoss', 'charbonnier_loss', 'distillation_loss'
]
