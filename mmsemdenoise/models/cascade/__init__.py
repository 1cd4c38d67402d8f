"""The cascade: data preprocessor, frozen task model, and the model that joins them; and the
denoiser as a data preprocessor of an unchanged task model (deployment)."""
from .cascade import DenoisingCascade
from .data_preprocessor import PixelPreprocessor
from .denoising_preprocessor import DenoisingDataPreprocessor
from .frozen_task import freeze

__all__ = ['DenoisingCascade', 'DenoisingDataPreprocessor', 'PixelPreprocessor', 'freeze']
