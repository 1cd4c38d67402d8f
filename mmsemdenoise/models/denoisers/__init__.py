"""Denoising networks: the paper's multi-scale network, the DnCNN/FFDNet baselines, and classical
non-learned denoisers (non-local means, BM3D) behind the same interface.

All share ``forward(noisy (N, 3, H, W) in [0, 1], noise_level (N,) in sigma/255 or None)``.
"""
from .blocks import BottleneckBlock, ConvBNReLU
from .classical import ClassicalDenoiser
from .dncnn import DnCNN
from .ffdnet import FFDNet
from .three_scale import ThreeScaleDenoiser

__all__ = [
    'BottleneckBlock', 'ClassicalDenoiser', 'ConvBNReLU', 'DnCNN', 'FFDNet', 'ThreeScaleDenoiser'
]
