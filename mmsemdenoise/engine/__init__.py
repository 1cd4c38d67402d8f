"""Runner pieces: the optimizer constructor that leaves frozen parameters out, a bfloat16
autocast optimizer wrapper that also works on CPU, the robustness test loop (noise sweep and
corruption benchmark) and the hook that saves and restores the random streams (exact resume)."""
from .autocast_optim_wrapper import AutocastOptimWrapper
from .optim_constructor import TrainableParamsOptimWrapperConstructor
from .random_state_hook import RandomStateHook
from .robustness_loop import RobustnessTestLoop

__all__ = [
    'AutocastOptimWrapper', 'TrainableParamsOptimWrapperConstructor', 'RandomStateHook',
    'RobustnessTestLoop'
]
