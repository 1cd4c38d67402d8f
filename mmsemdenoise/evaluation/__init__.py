"""PSNR / SSIM functions and metrics; label-free agreement with the clean prediction."""
from .agreement import CleanAgreement
from .functional import psnr, rgb_to_y, ssim
from .metrics import PSNR, SSIM, preprocess

__all__ = ['psnr', 'ssim', 'rgb_to_y', 'preprocess', 'PSNR', 'SSIM', 'CleanAgreement']
