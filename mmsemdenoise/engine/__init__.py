"""Runner pieces: the optimizer constructor that leaves frozen parameters out."""
from .optim_constructor import TrainableParamsOptimWrapperConstructor

__all__ = ['TrainableParamsOptimWrapperConstructor']
