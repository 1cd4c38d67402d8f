"""An optimizer wrapper constructor that gives the optimizer trainable parameters only."""
import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from mmsemdenoise.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableParamsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """:class:`DefaultOptimWrapperConstructor` without the parameters that need no gradient.

    mmengine's default constructor hands *every* parameter to the optimizer, frozen ones
    included. In a cascade the frozen task model must not be in the optimizer at all (no weight
    decay, no momentum buffers, nothing in the optimizer state of a checkpoint), so this
    constructor builds the optimizer as usual (``paramwise_cfg`` works unchanged) and then drops
    every parameter with ``requires_grad=False``, and every group left empty.

    Use it with ``optim_wrapper = dict(constructor='TrainableParamsOptimWrapperConstructor', ...)``.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        optim_wrapper = super().__call__(model)
        optimizer = optim_wrapper.optimizer
        groups = []
        for group in optimizer.param_groups:
            group['params'] = [p for p in group['params'] if p.requires_grad]
            if group['params']:
                groups.append(group)
        if not groups:
            raise ValueError(f'{type(model).__name__} has no trainable parameter: '
                             'every parameter has requires_grad=False')
        optimizer.param_groups = groups
        return optim_wrapper
