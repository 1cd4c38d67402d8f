"""Stop (or skip) a training step whose loss or gradients are NaN/Inf, before the weights move.

mmengine's ``BaseModel.train_step`` runs the forward pass inside ``optim_wrapper.optim_context``,
sums the ``loss*`` terms in ``parse_losses`` and hands the sum to ``optim_wrapper.update_params``,
which back-propagates and steps. :class:`FiniteCheckMixin` extends the two wrapper methods:

* ``optim_context`` keeps the loss dict the model's forward returns (a forward hook on the model,
  removed when the context closes), so a message can name the terms, and a copy of the model's
  buffers from before the forward pass (batch-norm statistics move in the forward pass itself);
* ``update_params`` checks the summed loss before back-propagation and the gradients before the
  optimizer step. Only then does it call ``step``: a non-finite step never reaches the weights,
  the optimizer state (Adam's moments) or a gradient clipper, and the buffers are put back.

Distributed training: the loss check is all-reduced, so every process raises or skips together;
the gradients are checked after DDP has averaged them, so every process sees the same ones.
"""
import logging
import weakref
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log
from mmengine.optim import OptimWrapper

from mmsemdenoise.registry import OPTIM_WRAPPERS

ON_NON_FINITE = ('error', 'skip')


class NonFiniteLossError(FloatingPointError):
    """A loss term or a gradient is NaN or Inf; the message names the iteration and the terms."""


def _term_value(value) -> Optional[float]:
    """The value ``parse_losses`` adds for one term (mean; a list of tensors: sum of means)."""
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean())
    if isinstance(value, (list, tuple)) and all(isinstance(v, torch.Tensor) for v in value):
        return float(sum(v.detach().float().mean() for v in value))
    return None


def describe_losses(losses: Optional[dict]) -> str:
    """``'loss_rec=nan (finite: loss_task=0.12)'`` from a model's loss dict.

    Only keys containing ``'loss'`` are looked at: those are the terms mmengine's
    ``parse_losses`` sums into the loss that is back-propagated.
    """
    if not losses:
        return 'the loss terms are unknown (the model returned no dict)'
    values = {k: _term_value(v) for k, v in losses.items() if 'loss' in k}
    bad = [f'{k}={v}' for k, v in values.items() if v is not None and not _finite(v)]
    good = [f'{k}={v:.6g}' for k, v in values.items() if v is not None and _finite(v)]
    text = ', '.join(bad) if bad else 'no single term (their sum overflows)'
    return text + (f' (finite: {", ".join(good)})' if good else '')


def _finite(value: float) -> bool:
    return value == value and abs(value) != float('inf')


class FiniteCheckMixin:
    """Checks of non-finite losses and gradients for an :class:`OptimWrapper` subclass.

    Put it before ``OptimWrapper`` (or a subclass) in the bases; see
    :class:`FiniteCheckOptimWrapper` for the arguments.
    """

    def _init_finite_check(self, on_non_finite: str, check_grads: bool,
                           max_consecutive_skips: int) -> None:
        if on_non_finite not in ON_NON_FINITE:
            raise ValueError(f'{type(self).__name__}: on_non_finite must be one of '
                             f'{ON_NON_FINITE}, got {on_non_finite!r}')
        if max_consecutive_skips < 1:
            raise ValueError(f'{type(self).__name__}: max_consecutive_skips must be >= 1, '
                             f'got {max_consecutive_skips}')
        self.on_non_finite = on_non_finite
        self.check_grads = check_grads
        self.max_consecutive_skips = max_consecutive_skips
        #: 1-based iterations whose step was skipped (``on_non_finite='skip'``).
        self.skipped_iters: List[int] = []
        self._consecutive_skips = 0
        self._losses: Optional[dict] = None
        self._saved_buffers: list = []
        self._model_ref = None

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """The parent's context, keeping the loss dict of the model's forward pass."""
        self._losses, self._model_ref = None, weakref.ref(model)
        self._saved_buffers = [(b, b.detach().clone()) for b in model.buffers()]

        def keep(module: nn.Module, args, output) -> None:
            if isinstance(output, dict):
                self._losses = output

        handle = model.register_forward_hook(keep)
        try:
            with super().optim_context(model):
                yield
        finally:
            handle.remove()

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """``OptimWrapper.update_params`` with a finiteness check before backward and step.

        Raises:
            NonFiniteLossError: With ``on_non_finite='error'``, naming the iteration and the
                non-finite terms (or parameters); with ``'skip'``, after
                ``max_consecutive_skips`` skipped steps in a row.
        """
        iteration = self._inner_count + 1  # 1-based, as in the log's Iter(train) [k/N]
        local_bad = not bool(torch.isfinite(loss.detach()).all())
        if self._any_process(local_bad, loss.device):
            where = '' if local_bad else ' on another process'
            self._non_finite(iteration, f'non-finite loss{where}: {describe_losses(self._losses)}')
            self._inner_count += 1  # the step counts, as backward would have counted it
            return
        self._losses = None  # the graph may go
        loss = self.scale_loss(loss)
        self.backward(loss)
        if self.should_update():
            bad_params = self._non_finite_grads() if self.check_grads else []
            if bad_params:
                self._non_finite(iteration, f'finite loss ({float(loss):.6g}) but non-finite '
                                 f'gradients of {len(bad_params)} parameters: '
                                 f'{", ".join(bad_params[:5])}{" ..." * (len(bad_params) > 5)}')
                return
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))
        self._consecutive_skips, self._saved_buffers = 0, []

    # ------------------------------------------------------------- helpers
    @staticmethod
    def _any_process(flag: bool, device: torch.device) -> bool:
        if get_world_size() == 1:
            return flag
        value = torch.tensor(float(flag), device=device)
        all_reduce(value, op='max')
        return bool(value.item())

    def _non_finite_grads(self) -> List[str]:
        """Names (or shapes) of the optimizer's parameters whose gradients are not finite."""
        params = [p for group in self.optimizer.param_groups for p in group['params']
                  if p.grad is not None]
        if not params:
            return []
        finite = torch.stack([torch.isfinite(p.grad).all() for p in params])
        if bool(finite.all()):
            return []
        model = self._model_ref() if self._model_ref is not None else None
        names = {id(p): n for n, p in model.named_parameters()} if model is not None else {}
        return [names.get(id(p), f'<parameter {tuple(p.shape)}>')
                for p, ok in zip(params, finite.tolist()) if not ok]

    def _non_finite(self, iteration: int, problem: str) -> None:
        """Put the buffers back; raise, or drop the gradients and log the skipped step."""
        with torch.no_grad():
            for buffer, saved in self._saved_buffers:
                buffer.copy_(saved)
        self._losses, self._saved_buffers = None, []
        message = f'iteration {iteration}: {problem}'
        if self.on_non_finite == 'error':
            raise NonFiniteLossError(
                f'{message}. Training stopped before the optimizer step: the weights, buffers and '
                f"optimizer state are those after iteration {iteration - 1} (on_non_finite='skip' "
                'skips such steps instead)')
        self.zero_grad()
        self.skipped_iters.append(iteration)
        self._consecutive_skips += 1
        MessageHub.get_current_instance().update_scalar('train/skipped_steps',
                                                         len(self.skipped_iters))
        print_log(f'{message}; step skipped (weights unchanged), '
                  f'{len(self.skipped_iters)} skipped so far', logger='current',
                  level=logging.WARNING)
        if self._consecutive_skips >= self.max_consecutive_skips:
            raise NonFiniteLossError(
                f'{message}; {self._consecutive_skips} steps in a row were non-finite and '
                f'skipped (max_consecutive_skips={self.max_consecutive_skips}): training '
                f'diverged, stopping (skipped iterations: {self.skipped_iters[-10:]})')


@OPTIM_WRAPPERS.register_module()
class FiniteCheckOptimWrapper(FiniteCheckMixin, OptimWrapper):
    """:class:`OptimWrapper` that never steps on a NaN/Inf loss or gradient.

    Before back-propagation the summed loss is checked, and before the optimizer step every
    gradient (after gradient accumulation and DDP averaging). A non-finite one raises
    :class:`NonFiniteLossError` naming the iteration (1-based, as the log counts) and each
    non-finite loss term with its value (or the parameters with non-finite gradients), with the
    weights, the buffers (batch-norm statistics, restored) and the optimizer state untouched;
    or, with ``on_non_finite='skip'``, the gradients are dropped, the step is skipped and logged
    (``train/skipped_steps`` in the log, the iterations in :attr:`skipped_iters`), and training
    goes on. With gradient accumulation a
    skipped step drops the gradients accumulated in its window.

    Use it with ``optim_wrapper = dict(type='FiniteCheckOptimWrapper', optimizer=...)``;
    :class:`~mmsemdenoise.engine.AutocastOptimWrapper` includes the same checks.

    Args:
        on_non_finite (str): ``'error'`` or ``'skip'``. Defaults to 'error'.
        check_grads (bool): Also check the gradients before each step (one pass over them).
            Defaults to True.
        max_consecutive_skips (int): With ``'skip'``, this many skipped steps in a row raise
            (a run that keeps producing NaN has diverged). Defaults to 10.
        **kwargs: The arguments of :class:`OptimWrapper` (``optimizer``, ``clip_grad``, ...).
    """

    def __init__(self,
                 *args,
                 on_non_finite: str = 'error',
                 check_grads: bool = True,
                 max_consecutive_skips: int = 10,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._init_finite_check(on_non_finite, check_grads, max_consecutive_skips)
