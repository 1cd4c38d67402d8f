"""PSNR / SSIM functions and metrics."""
from .functional import psnr, rgb_to_y, ssim
from .metrics import PSNR, SSIM, preprocess

__all__ = ['psnr', 'ssim', 'rgb_to_y', 'preprocess', 'PSNR', 'SSIM']
