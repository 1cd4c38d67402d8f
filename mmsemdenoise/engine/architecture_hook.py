"""Checkpoints that carry their denoiser's architecture, whatever the config said about it.

A stage-2 config declares no denoiser: the cascade takes the architecture from its
``denoiser_checkpoint`` (the stage-1 run). The run's config, which mmengine writes into each
checkpoint as ``meta['cfg']``, then names that stage-1 file, not the network, so a stage-2
checkpoint would be readable only while the stage-1 file exists.

:class:`DenoiserArchitectureHook` writes the architecture the cascade was built with
(:attr:`DenoisingCascade.denoiser_cfg`) into every checkpoint the run saves, as
``meta['model_cfg']``: the key the weight converters write and
:func:`~mmsemdenoise.models.denoisers.architecture.carried_architecture` reads first. A
checkpoint is then self-contained: the next stage, the noise sweep and ``tools/test.py`` build
its denoiser from the file alone.
"""
import logging
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from mmsemdenoise.registry import HOOKS

#: Key of the denoiser's config in a checkpoint's ``meta``.
META_KEY = 'model_cfg'


@HOOKS.register_module()
class DenoiserArchitectureHook(Hook):
    """Write the model's denoiser config into each checkpoint as ``meta['model_cfg']``.

    Models without a ``denoiser_cfg`` (a task model, a cascade without a denoiser) are left
    alone, so the hook can sit in a runtime shared by every config
    (``configs/_base_/default_runtime.py``; configs on an upstream runtime add
    ``_base_.architecture_hook`` of ``configs/_base_/models/denoising_cascade.py``).

    Example:
        >>> custom_hooks = [dict(type='mmsemdenoise.DenoiserArchitectureHook')]
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._warned = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Set ``checkpoint['meta']['model_cfg']`` to the denoiser's config.

        Args:
            runner (Runner): The runner saving the checkpoint.
            checkpoint (dict): What it will save (``meta``, ``state_dict``, ...).
        """
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'denoiser', None) is None:
            return
        architecture: Optional[dict] = getattr(model, 'denoiser_cfg', None)
        if architecture is None:
            if not self._warned:
                print_log(f'DenoiserArchitectureHook: the {type(model).__name__} has a denoiser '
                          'but no config of it (built from a module, or its type is a class): '
                          "the checkpoints carry no meta['model_cfg']", logger='current',
                          level=logging.WARNING)
                self._warned = True
            return
        checkpoint.setdefault('meta', {})[META_KEY] = architecture
