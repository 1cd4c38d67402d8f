"""A hook that puts the files a dataset skipped into the validation and test results."""
import logging
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmsemdenoise.datasets.verify import format_bad_files, skipped_files
from mmsemdenoise.registry import HOOKS

#: Key of the count in the metrics of a validation / test epoch.
SKIPPED_KEY = 'skipped_files'


@HOOKS.register_module()
class SkippedFilesHook(Hook):
    """Report how many files the val / test dataset left out (``on_bad_file='skip'``).

    After each validation and test epoch the count of :func:`~mmsemdenoise.datasets.verify.
    skipped_files` of the loop's dataset (0 when none) is added to the epoch's metrics as
    ``skipped_files``: it is in the dict ``runner.val()`` / ``runner.test()`` return, in the
    logged ``Iter(val)`` line and in the scalars of the visualizer backends (``val/skipped_files``).
    The first epoch of each kind also logs the list of files as a warning. The datasets log the
    training set's list when they are built.

    Use it with ``custom_hooks = [dict(type='SkippedFilesHook')]`` (in ``_base_/default_runtime.py``).
    """

    priority = 'NORMAL'  # after RuntimeInfoHook (VERY_HIGH), before LoggerHook (BELOW_NORMAL)

    def __init__(self) -> None:
        self._warned = set()

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Add ``skipped_files`` to the validation metrics."""
        self._report(runner, runner.val_loop.dataloader.dataset, 'val', metrics)

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Add ``skipped_files`` to the test metrics."""
        self._report(runner, runner.test_loop.dataloader.dataset, 'test', metrics)

    def _report(self, runner, dataset, mode: str, metrics: Optional[dict]) -> None:
        skipped = skipped_files(dataset)
        if metrics is not None:
            metrics[SKIPPED_KEY] = len(skipped)
        # RuntimeInfoHook copied the metrics into the message hub already; LoggerHook reads it
        runner.message_hub.update_scalar(f'{mode}/{SKIPPED_KEY}', len(skipped))
        if skipped and mode not in self._warned:
            self._warned.add(mode)
            print_log(f'{mode}: {len(skipped)} file(s) of the dataset were skipped as '
                      f'unreadable; the metrics leave them out:\n{format_bad_files(skipped)}',
                      logger='current', level=logging.WARNING)
