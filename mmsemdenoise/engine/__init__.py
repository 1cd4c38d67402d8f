"""Runner pieces: the optimizer constructor that leaves frozen parameters out, optimizer wrappers
that never step on NaN/Inf (one with a bfloat16 autocast that also works on CPU), the robustness
test loop (noise sweep and corruption benchmark) and its set-up from a cascade config
(:func:`prepare_config`, the checks of its arguments), the hook that reports skipped files, the hook
that saves and restores the random streams (exact resume), the hook that draws noisy | denoised
| clean at each validation and the hook that writes the denoiser's architecture into each
checkpoint (``meta['model_cfg']``)."""
from .architecture_hook import DenoiserArchitectureHook
from .autocast_optim_wrapper import AutocastOptimWrapper
from .denoise_visualization_hook import DenoiseVisualizationHook
from .finite_check import FiniteCheckMixin, FiniteCheckOptimWrapper, NonFiniteLossError
from .optim_constructor import TrainableParamsOptimWrapperConstructor
from .random_state_hook import RandomStateHook
from .robustness_loop import RobustnessTestLoop
from .skipped_files_hook import SkippedFilesHook
from .sweep_config import (check_cascade_config, check_sigmas, check_variant, parse_variants,
                           prepare_config)

__all__ = [
    'AutocastOptimWrapper', 'DenoiserArchitectureHook', 'DenoiseVisualizationHook',
    'FiniteCheckMixin', 'FiniteCheckOptimWrapper', 'NonFiniteLossError',
    'TrainableParamsOptimWrapperConstructor', 'RandomStateHook', 'RobustnessTestLoop',
    'SkippedFilesHook', 'check_cascade_config', 'check_sigmas', 'check_variant',
    'parse_variants', 'prepare_config'
]
