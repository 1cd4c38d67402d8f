"""Runner pieces: the optimizer constructor that leaves frozen parameters out, a bfloat16
autocast optimizer wrapper that also works on CPU, the robustness test loop (noise sweep and
corruption benchmark) and the hook that reports the files a dataset skipped."""
from .autocast_optim_wrapper import AutocastOptimWrapper
from .optim_constructor import TrainableParamsOptimWrapperConstructor
from .robustness_loop import RobustnessTestLoop
from .skipped_files_hook import SkippedFilesHook

__all__ = [
    'AutocastOptimWrapper', 'TrainableParamsOptimWrapperConstructor', 'RobustnessTestLoop',
    'SkippedFilesHook'
]
