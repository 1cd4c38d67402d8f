"""Noise models: functions in ``functional`` and the registered modules built from configs."""
from .corruptions import NOISE_CORRUPTIONS, SEVERITIES, CorruptionNoise
from .functional import (add_gaussian_noise, add_poisson_gaussian_noise, image_seed, jpeg_compress,
                         make_generators)
from .mixed import MixedNoise
from .noise_models import GaussianNoise, JPEGNoise, PoissonGaussianNoise

__all__ = [
    'GaussianNoise', 'PoissonGaussianNoise', 'JPEGNoise', 'CorruptionNoise', 'MixedNoise',
    'NOISE_CORRUPTIONS', 'SEVERITIES', 'image_seed', 'make_generators', 'add_gaussian_noise',
    'add_poisson_gaussian_noise', 'jpeg_compress'
]
