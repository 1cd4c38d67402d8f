"""The cascade: data preprocessor, frozen task model, and the model that joins them."""
from .cascade import DenoisingCascade
from .data_preprocessor import PixelPreprocessor
from .frozen_task import freeze

__all__ = ['DenoisingCascade', 'PixelPreprocessor', 'freeze']
