"""Runner pieces: the optimizer constructor that leaves frozen parameters out, and a bfloat16
autocast optimizer wrapper that also works on CPU."""
from .autocast_optim_wrapper import AutocastOptimWrapper
from .optim_constructor import TrainableParamsOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'TrainableParamsOptimWrapperConstructor']
