"""An optimizer wrapper that runs the forward pass under bfloat16 autocast on any device."""
import warnings
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmsemdenoise.registry import OPTIM_WRAPPERS
from mmsemdenoise.utils.device import cpu_has_native_bfloat16
from .finite_check import FiniteCheckMixin


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(FiniteCheckMixin, OptimWrapper):
    """:class:`OptimWrapper` whose forward pass runs under ``torch.autocast(bfloat16)``.

    mmengine's ``AmpOptimWrapper`` (what ``--amp`` selects) refuses to start without a GPU and
    scales the loss for float16. bfloat16 has float32's exponent range, so it needs no loss
    scaling; this wrapper only opens the autocast context on the device the model's parameters
    live on: ``cpu`` or ``cuda``. Weights, gradients and optimizer state stay float32;
    validation and testing are not affected (they do not use the optimizer wrapper).

    On a CPU, bfloat16 only pays where the hardware has it: a training step of the paper's
    denoiser (16 patches of 64x64, one thread) is 1.7x faster on a CPU with AVX512-BF16, but
    9x SLOWER (28-32 s vs 3.0-3.2 s) on an AVX-only AMD EPYC, where oneDNN emulates it. So on a
    CPU without native bfloat16 (:func:`~mmsemdenoise.utils.cpu_has_native_bfloat16`) the wrapper warns once and
    runs float32, unless ``cpu_fallback=False``.

    Like :class:`~mmsemdenoise.engine.FiniteCheckOptimWrapper` it never steps on a NaN/Inf loss
    or gradient: it raises naming the iteration and the loss term, or skips the step.

    Use it with ``optim_wrapper = dict(type='AutocastOptimWrapper', optimizer=...)``.

    Args:
        dtype (str): Only ``'bfloat16'``. Defaults to 'bfloat16'.
        cpu_fallback (bool): Run float32 on a CPU without native bfloat16. Defaults to True.
        on_non_finite (str): ``'error'`` or ``'skip'``. Defaults to 'error'.
        check_grads (bool): Also check the gradients before each step. Defaults to True.
        max_consecutive_skips (int): Skipped steps in a row that raise. Defaults to 10.
        **kwargs: The arguments of :class:`OptimWrapper`.
    """

    def __init__(self,
                 *args,
                 dtype: str = 'bfloat16',
                 cpu_fallback: bool = True,
                 on_non_finite: str = 'error',
                 check_grads: bool = True,
                 max_consecutive_skips: int = 10,
                 **kwargs) -> None:
        if dtype != 'bfloat16':
            raise ValueError(f'AutocastOptimWrapper: dtype must be "bfloat16", got {dtype!r} '
                             '(float16 needs loss scaling: use type="AmpOptimWrapper" on a GPU)')
        super().__init__(*args, **kwargs)
        self._init_finite_check(on_non_finite, check_grads, max_consecutive_skips)
        self.cast_dtype = torch.bfloat16
        self.cpu_fallback = cpu_fallback
        self._warned = False

    def _autocast_enabled(self, device_type: str) -> bool:
        if device_type != 'cpu' or not self.cpu_fallback or cpu_has_native_bfloat16():
            return True
        if not self._warned:
            warnings.warn('AutocastOptimWrapper: this CPU has no native bfloat16 (oneDNN would '
                          'emulate it, ~9x slower than float32); training runs in float32. '
                          'Set cpu_fallback=False to force bfloat16.')
            self._warned = True
        return False

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        device_type = next(model.parameters()).device.type
        enabled = self._autocast_enabled(device_type)
        with super().optim_context(model), torch.autocast(device_type, dtype=self.cast_dtype,
                                                          enabled=enabled):
            yield
