"""A hook that shows the training: noisy | denoised | clean (and the task's prediction) at each
validation, through the Runner's visualizer backends."""
import logging
from typing import Dict, List, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import autocast

from mmsemdenoise.analysis.examples import Example, example_of
from mmsemdenoise.analysis.sweep_report import tile_grid
from mmsemdenoise.models.cascade import DenoisingCascade
from mmsemdenoise.registry import HOOKS


@HOOKS.register_module()
class DenoiseVisualizationHook(Hook):
    """After each validation, draw a few fixed validation images as the cascade sees them.

    The first ``num_images`` images of the validation dataset (dataset order, whatever the
    sampler or the number of processes) go through the model's ``val_step`` one at a time, and
    their grid, one row per image (see :func:`~mmsemdenoise.analysis.sweep_report.tile_grid`)::

        noisy | denoised | clean [| predicted mask | labels]     (segmentation)
        noisy | denoised | clean, predicted class under it        (classification)

    is written with ``runner.visualizer.add_image(name, grid, step=iteration)``: to every
    configured backend, e.g. ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<iter>.png``
    (``LocalVisBackend``) or the event file of ``TensorboardVisBackend``. The cascade's test
    noise is seeded per image (from its id and ``eval_seed``), so every validation shows the same
    noisy images and only the denoised ones (and predictions) change.

    Only the main process draws and writes (other processes do nothing, so no collective call
    is involved); the images run on the model's device, under the validation loop's autocast.
    Models other than :class:`~mmsemdenoise.models.cascade.DenoisingCascade` are left alone
    (one log line), so a shared runtime can list the hook for every config.

    Use it with ``custom_hooks = [dict(type='mmsemdenoise.DenoiseVisualizationHook')]`` (in
    ``_base_/default_runtime.py``; ``_base_.denoise_vis_hook`` of
    ``_base_/models/denoising_cascade.py`` for configs on an upstream runtime).

    Args:
        num_images (int): How many images to show (fewer when the dataset is smaller).
            Defaults to 4.
        name (str): Image name in the backends. Defaults to 'val_denoise'.
    """

    priority = 'LOW'

    def __init__(self, num_images: int = 4, name: str = 'val_denoise') -> None:
        if not isinstance(num_images, int) or num_images < 1:
            raise ValueError(f'DenoiseVisualizationHook: num_images must be an int >= 1, '
                             f'got {num_images!r}')
        self.num_images = num_images
        self.name = name
        self._active: Optional[bool] = None
        self._trained_iters = 0

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Write the grid of this validation (main process only)."""
        if not is_main_process() or not self._is_cascade(runner):
            return
        examples = self.examples(runner)
        if examples:
            metainfo = dict(getattr(runner.val_loop.dataloader.dataset, 'metainfo', {}) or {})
            runner.visualizer.add_image(self.name, tile_grid(examples, metainfo),
                                        step=self.training_iteration)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Remember how many training iterations have run (mmengine's loops count an iteration
        after its hooks, so this one is ``runner.iter + 1``)."""
        self._trained_iters = runner.iter + 1

    @property
    def training_iteration(self) -> int:
        """The training iteration this validation follows: 0 in a validation- or test-only run.

        Never ``runner.iter`` outside training: that property builds the train loop, i.e. the
        training dataset, which a ``Runner.val()`` on a machine without the training data does not
        have (it failed there with ``FileNotFoundError`` for BSD400)."""
        return self._trained_iters

    @torch.no_grad()
    def examples(self, runner) -> List[Example]:
        """The model's outputs on the first ``num_images`` validation images, as numpy
        (:func:`~mmsemdenoise.analysis.examples.example_of`)."""
        loader = runner.val_loop.dataloader
        dataset = loader.dataset
        fp16 = getattr(runner.val_loop, 'fp16', False)
        examples = []
        for index in range(min(self.num_images, len(dataset))):
            batch = loader.collate_fn([dataset[index]])
            with autocast(enabled=fp16):
                outputs = runner.model.val_step(batch)
            examples += [example_of(sample) for sample in outputs]
        return examples

    def _is_cascade(self, runner) -> bool:
        if self._active is None:
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            self._active = isinstance(model, DenoisingCascade)
            if not self._active:
                print_log(f'DenoiseVisualizationHook: the model is a {type(model).__name__}, '
                          'not a DenoisingCascade: nothing drawn', logger='current',
                          level=logging.INFO)
        return self._active
