"""Export a denoiser to ONNX with dynamic batch, height and width, and check it with
onnxruntime.

The graph takes ``noisy`` (N, C, H, W) float32 in [0, 1] and, for networks that need it
(``needs_noise_level``, FFDNet), ``noise_level`` (N,) float32 in sigma / 255; it returns
``denoised`` (N, C, H, W), not clamped. N, H and W are free; the exporter is PyTorch's
TorchScript-based one (no ``onnxscript`` needed), so every size-dependent step of the networks is
written without Python branches on the size.
"""
import copy
import io
from pathlib import Path
from typing import Dict, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from .image_io import write_atomic

DEFAULT_OPSET = 17
INPUT, LEVEL, OUTPUT = 'noisy', 'noise_level', 'denoised'


class _Blind(nn.Module):
    """``forward(noisy)`` of a blind denoiser, so the graph has one input."""

    def __init__(self, denoiser: nn.Module) -> None:
        super().__init__()
        self.denoiser = denoiser

    def forward(self, noisy: Tensor) -> Tensor:
        return self.denoiser(noisy, None)


def needs_noise_level(denoiser: nn.Module) -> bool:
    """Whether the network takes a noise level (its class says ``needs_noise_level = True``)."""
    return bool(getattr(denoiser, 'needs_noise_level', False))


def example_inputs(denoiser: nn.Module,
                   size: Tuple[int, int, int] = (1, 48, 64),
                   seed: int = 0) -> Dict[str, Tensor]:
    """Random inputs for the graph: ``{'noisy': (N, C, H, W)[, 'noise_level': (N,)]}`` with
    ``size = (N, H, W)``, ``C`` the network's ``in_channels`` (3 if it has none)."""
    n, h, w = size
    gen = torch.Generator().manual_seed(seed)
    channels = int(getattr(denoiser, 'in_channels', 3))
    inputs = {INPUT: torch.rand(n, channels, h, w, generator=gen)}
    if needs_noise_level(denoiser):
        inputs[LEVEL] = torch.rand(n, generator=gen) * 75 / 255
    return inputs


def export_onnx(denoiser: nn.Module,
                path: Union[str, Path],
                opset: int = DEFAULT_OPSET,
                force: bool = False) -> Path:
    """Write ``denoiser`` (in eval mode, on the CPU) as an ONNX file with dynamic N, H, W.

    Args:
        denoiser (nn.Module): A registered network, e.g. from
            :func:`~mmsemdenoise.apis.load_denoiser`.
        path (str | Path): The ``.onnx`` file, written atomically.
        opset (int): ONNX opset. Defaults to :data:`DEFAULT_OPSET`.
        force (bool): Replace an existing file. Defaults to False.

    Returns:
        Path: ``path``.

    Raises:
        TypeError: If the denoiser has no parameters (a classical denoiser runs NumPy code,
            which no exporter can trace).
        FileExistsError: If ``path`` exists and ``force`` is False.
    """
    path = Path(path)
    if next(denoiser.parameters(), None) is None:
        raise TypeError(f'{type(denoiser).__name__} has no parameters: it is not a network '
                        '(classical denoisers run NumPy/scikit-image code) and cannot be exported')
    if path.exists() and not force:
        raise FileExistsError(f'{path} exists; pass --force (force=True) to replace it')
    denoiser = copy.deepcopy(denoiser).cpu().eval()  # the caller's module stays as it is
    inputs = example_inputs(denoiser)
    graph = denoiser if LEVEL in inputs else _Blind(denoiser)
    dynamic_axes = {INPUT: {0: 'batch', 2: 'height', 3: 'width'},
                    OUTPUT: {0: 'batch', 2: 'height', 3: 'width'}}
    if LEVEL in inputs:
        dynamic_axes[LEVEL] = {0: 'batch'}
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(graph, tuple(inputs.values()), buffer, dynamo=False,
                          input_names=list(inputs), output_names=[OUTPUT],
                          dynamic_axes=dynamic_axes, opset_version=opset)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue(), force)
    return path


def onnx_max_abs_diff(path: Union[str, Path],
                      denoiser: nn.Module,
                      sizes: Sequence[Tuple[int, int, int]] = ((1, 37, 50), (2, 64, 41)),
                      seed: int = 0) -> Dict[Tuple[int, int, int], float]:
    """Run the ONNX file with onnxruntime (CPU) and the network in PyTorch on the same random
    inputs, for each ``(N, H, W)`` in ``sizes``.

    Returns:
        dict: ``{size: max |onnx - torch|}``.

    Raises:
        ImportError: If onnxruntime is not installed (``pip install .[deploy]``).
    """
    try:
        import onnxruntime
    except ImportError as e:
        raise ImportError('checking an ONNX export needs onnxruntime: pip install '
                          '"mmsemdenoise[deploy]" (or onnxruntime)') from e
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    denoiser = copy.deepcopy(denoiser).cpu().eval()
    diffs = {}
    for i, size in enumerate(sizes):
        inputs = example_inputs(denoiser, tuple(size), seed + i)
        with torch.no_grad():
            expected = denoiser(inputs[INPUT], inputs.get(LEVEL)).numpy()
        (got, ) = session.run([OUTPUT], {k: v.numpy() for k, v in inputs.items()})
        if got.shape != expected.shape:
            raise ValueError(f'{path}: output shape {got.shape} for input size {size}, PyTorch '
                             f'gives {expected.shape}')
        diffs[tuple(size)] = float(np.abs(got - expected).max())
    return diffs
