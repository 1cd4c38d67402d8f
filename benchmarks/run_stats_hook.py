"""``RunStatsHook``: what one process of a training or test run used, for the benchmarks.

``benchmarks/processes.py`` loads it into ``tools/train.py`` / ``tools/test.py`` runs with
``custom_imports=dict(imports=['run_stats_hook'])`` (``benchmarks/`` on ``PYTHONPATH``) and
``custom_hooks=[..., dict(type='RunStatsHook')]``. At the end of ``Runner.train()`` or
``Runner.test()`` every process writes ``<work_dir>/run_stats_rank<r>.json``::

    {"rank": 0, "world_size": 2, "threads": 1, "loop": "train", "loop_seconds": 12.3,
     "iterations": 30, "peak_rss_mib": 640.5}

``peak_rss_mib`` is the process's peak resident set size (``ru_maxrss``, Linux's ``VmHWM``) in
MiB; DataLoader workers and the ``torchrun`` agent are other processes and are not in it.
"""
import json
import os.path as osp
import resource
import sys
import time
from typing import Optional

import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == 'darwin' else peak / 2**10


@HOOKS.register_module()
class RunStatsHook(Hook):
    """Writes each process's threads, loop time and peak RSS when its train/test loop ends."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._start: Optional[float] = None
        self._iterations = 0

    def before_train(self, runner) -> None:
        self._start, self._iterations = time.perf_counter(), 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._iterations += 1

    def after_train(self, runner) -> None:
        self._write(runner, 'train')

    def before_test(self, runner) -> None:
        self._start = time.perf_counter()

    def after_test(self, runner) -> None:
        self._write(runner, 'test')

    def _write(self, runner, loop: str) -> None:
        stats = dict(rank=get_rank(), world_size=get_world_size(),
                     threads=torch.get_num_threads(), loop=loop,
                     loop_seconds=time.perf_counter() - self._start,
                     iterations=self._iterations if loop == 'train' else None,
                     peak_rss_mib=peak_rss_mib())
        path = osp.join(runner.work_dir, f'run_stats_rank{stats["rank"]}.json')
        with open(path, 'w') as f:
            json.dump(stats, f)
