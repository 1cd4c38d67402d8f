"""Reconstruction losses between a denoised image and its clean original.

All take float tensors of the same shape, e.g. (N, 3, H, W) in [0, 1], and return the mean over
every element (a scalar). On images in [0, 1] the MSE is the per-pixel MSE on 0-255 images
divided by 255**2 = 65025.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmsemdenoise.registry import MODELS


def charbonnier_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Charbonnier (smooth L1) loss ``mean(sqrt((pred - target)**2 + eps**2))``.

    Args:
        pred (Tensor): (*) any shape.
        target (Tensor): (*) same shape as ``pred``.
        eps (float): Smoothing constant, in the units of the images. Defaults to 1e-3.

    Returns:
        Tensor: () the mean loss.
    """
    return torch.sqrt((pred - target).pow(2) + eps * eps).mean()


def _check_shapes(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f'reconstruction loss: prediction shape {tuple(pred.shape)} differs '
                         f'from target shape {tuple(target.shape)}')


@MODELS.register_module()
class MSELoss(nn.Module):
    """Mean squared error, the paper's and DnCNN's reconstruction loss.

    Shape:
        pred, target: (*) the same shape. Output: () scalar.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target)
        return F.mse_loss(pred, target)


@MODELS.register_module()
class L1Loss(nn.Module):
    """Mean absolute error.

    Shape:
        pred, target: (*) the same shape. Output: () scalar.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target)
        return F.l1_loss(pred, target)


@MODELS.register_module()
class CharbonnierLoss(nn.Module):
    """Charbonnier loss, see :func:`charbonnier_loss`.

    Args:
        eps (float): Smoothing constant. Defaults to 1e-3.

    Shape:
        pred, target: (*) the same shape. Output: () scalar.
    """

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target)
        return charbonnier_loss(pred, target, self.eps)
