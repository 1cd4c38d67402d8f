"""The cascade: data preprocessor, frozen task model, and the model that joins them."""
from .cascade import DenoisingCascade
from .data_preprocessor import PixelPreprocessor
from .frozen_task import freeze, load_task_checkpoint

__all__ = ['DenoisingCascade', 'PixelPreprocessor', 'freeze', 'load_task_checkpoint']
