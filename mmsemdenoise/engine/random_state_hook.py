"""Exact resume: the random streams of a run are saved with each checkpoint and restored.

mmengine 0.10.7 resumes the weights, optimizer, schedulers and message hub, and re-creates the data
position by drawing the already trained batches again (``IterBasedTrainLoop`` calls
``next(dataloader)`` ``iter`` times before the first resumed step). It does not save the global
random generators, so a resumed run draws other training noise (and, with ``num_workers=0``,
other crops) than the run it continues.

:class:`RandomStateHook` keeps two random streams in each process, each a state of the python,
numpy, torch CPU and (when CUDA is initialised) CUDA generators:

* the **data stream** is current only while a batch is loaded (from ``after_train_iter`` to the
  next ``before_train_iter``): with ``num_workers=0`` the pipeline's crops and flips draw from
  it. Its state at the start of training is saved; on resume it is restored before mmengine
  draws the trained batches again, so that replay leaves it where the interrupted run left it.
  (With workers the pipeline runs in worker processes, seeded by mmengine's ``worker_init_fn``;
  the same replay re-creates their generators' states.)
* the **model stream** is current from ``before_train_iter`` to ``after_train_iter``: the
  training noise, dropout, anything the train step draws. Its state after the last step is
  saved and restored.

Validation runs on a copy of the generators and leaves them as they were, so a run gives the same
training with or without validation. The sampler position needs no state: mmengine's replay
advances the seeded ``InfiniteSampler``/``DefaultSampler``. The noise models keep no generator of
their own: unseeded, they draw from the global ones (the model stream); seeded, from per-image
generators built from seeds.

Under DDP every process's streams are gathered to rank 0 after each step (one
``all_gather_object`` of about 10 kB per process) and each process gets its own back on resume.

Exactness needs a fixed ``randomness.seed`` (the sampler and worker seeds come from it) and the
same number of processes; the hook warns otherwise. A fresh run draws the numbers it drew without
the hook when the pipeline draws from python/numpy only and the train step from torch only (every
shipped config), except that validation no longer advances the generators.
"""
import logging
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop

from mmsemdenoise.registry import HOOKS

#: Key of the saved streams in a checkpoint.
CHECKPOINT_KEY = 'random_states'


def capture_random_state() -> dict:
    """The states of python's, numpy's, torch's CPU and (if initialised) CUDA generators."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    """Set the generators to ``state`` (from :func:`capture_random_state`; tensors on any
    device, as a checkpoint loaded with ``map_location='cuda'`` gives them)."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda')
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def _warn(message: str) -> None:
    print_log(f'RandomStateHook: {message}', logger='current', level=logging.WARNING)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the run's random streams with each checkpoint and restore them on resume.

    Use it as ``custom_hooks = [dict(type='mmsemdenoise.RandomStateHook')]`` (the shared runtime
    ``configs/_base_/default_runtime.py`` does). The streams are stored under the checkpoint key
    ``'random_states'``: ``dict(world_size=W, data=[state per rank], model=[state per rank])``.
    """

    def __init__(self) -> None:
        self._loaded: Optional[dict] = None   # streams of the checkpoint being resumed
        self._data: Optional[List[dict]] = None   # data stream at the start, per rank
        self._model: Optional[List[dict]] = None  # model stream after the last step, per rank
        self._model_here: Optional[dict] = None   # this process's model stream
        self._data_now: Optional[dict] = None     # data stream while the model stream runs
        self._outside_val: Optional[dict] = None
        self._starting = False

    # ----------------------------------------------------------------- checkpoint
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._data is None:  # not training (e.g. a checkpoint saved by a tool)
            return
        checkpoint[CHECKPOINT_KEY] = dict(world_size=len(self._data), data=self._data,
                                          model=self._model)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get(CHECKPOINT_KEY)

    # ------------------------------------------------------------------- training
    def before_train(self, runner) -> None:
        self._starting = True
        if (runner.cfg.get('randomness') or {}).get('seed') is None:
            _warn('randomness.seed is not set: a resumed run cannot repeat the data order '
                  '(the sampler and worker seeds are drawn anew)')

    def before_train_epoch(self, runner) -> None:
        if not self._starting:  # epoch-based loops: only the first epoch of this process
            return
        self._starting = False
        here = self._restored_streams(runner) if runner.iter > 0 else None
        if here is None:
            here = dict(data=capture_random_state(), model=capture_random_state())
        else:
            restore_random_state(here['data'])  # before mmengine replays the trained batches
        self._model_here = here['model']
        self._data = self._gather(here['data'])
        self._model = self._gather(here['model'])

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._data_now = capture_random_state()
        restore_random_state(self._model_here)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._model_here = capture_random_state()
        restore_random_state(self._data_now)
        self._model = self._gather(self._model_here)

    # ----------------------------------------------------------------- validation
    def before_val(self, runner) -> None:
        self._outside_val = capture_random_state()

    def after_val(self, runner) -> None:
        if self._outside_val is not None:
            restore_random_state(self._outside_val)
            self._outside_val = None

    # -------------------------------------------------------------------- helpers
    @staticmethod
    def _gather(state: dict) -> List[dict]:
        return all_gather_object(state) if get_world_size() > 1 else [state]

    def _restored_streams(self, runner) -> Optional[dict]:
        """This process's saved streams, or None (with a warning) when they cannot be used."""
        loaded, self._loaded = self._loaded, None
        if loaded is None:
            _warn(f'the checkpoint resumed at iteration {runner.iter} holds no random states '
                  '(written without this hook): the resumed run draws other random numbers '
                  'than the interrupted one')
            return None
        world_size = get_world_size()
        if loaded.get('world_size') != world_size:
            _warn(f'the checkpoint was written by {loaded.get("world_size")} processes, this '
                  f'run has {world_size}: random states not restored')
            return None
        if not isinstance(runner.train_loop, IterBasedTrainLoop):
            _warn(f'{type(runner.train_loop).__name__} does not replay the trained batches: '
                  'the model stream is restored, the data position may differ')
        rank = get_rank()
        return dict(data=loaded['data'][rank], model=loaded['model'][rank])
