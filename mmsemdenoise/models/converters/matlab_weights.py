"""Read the official MatConvNet weights of DnCNN and FFDNet (MATLAB v7.3 ``.mat`` = HDF5).

Files: ``CDnCNN_color_sigma{15,25,50}.mat``, ``CDnCNN_B_color_blind.mat`` (github.com/cszn/DnCNN)
and ``FFDNet_color.mat`` (github.com/cszn/FFDNet). Each holds a SimpleNN ``net.layers`` cell array
of structs (``type``, ``name``, ``weights``, ``stride``, ``pad``, ...). Batch norm is already
folded into the convolutions, so the matching networks are built with ``bn=False``: every
convolution has a bias and the mapping is exact (no identity BatchNorm with ``eps`` round-off).

Axis order. MATLAB stores arrays column-major and HDF5 row-major, so an HDF5 dataset lists the
MATLAB dimensions reversed: a MatConvNet kernel ``kH x kW x C_in x C_out`` reads as
``(C_out, C_in, kW, kH)``. Unequal channel counts show the reversal (FFDNet's first kernel,
3x3x13x96 in MATLAB, reads ``(96, 13, 3, 3)``); reading a column-major buffer row-major can only
reverse all axes, so PyTorch's ``(C_out, C_in, kH, kW)`` is the HDF5 array with its last two axes
swapped. MatConvNet's ``vl_nnconv`` is a correlation like
``nn.Conv2d`` (no kernel flip).

FFDNet's sub-pixel layer (``vl_nnSubP``) orders the four sub-images of colour channel ``c`` as
``4c + 2 * col_offset + row_offset`` (rows: MATLAB's first image dimension);
``F.pixel_unshuffle``/``pixel_shuffle`` use ``4c + 2 * row_offset + col_offset``. The converter
swaps the matching input channels of the first convolution and output channels of the last one
(the noise-level map stays the last input channel).

Numerical check (tests/test_models/test_matlab_weights.py): a plain conv stack cannot reveal the
spatial kernel order, since transposing every kernel gives the same network applied to the
transposed image. FFDNet can: the sub-pixel order fixes which axis is the row, and transposing the
kernels alone, or undoing the sub-pixel reordering alone, costs about 1.4 dB at sigma 25. With
this mapping the released models reach their published CBSD68 PSNR.
"""
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from mmsemdenoise.utils.files import sha256_of
from mmsemdenoise.version import __version__
from ..denoisers.dncnn import DnCNN
from ..denoisers.ffdnet import FFDNet

ARCHS = ('dncnn', 'ffdnet')
StateDict = Dict[str, Tensor]


@dataclass(frozen=True)
class MatLayer:
    """One MatConvNet SimpleNN layer as stored in the file.

    Attributes:
        index (int): Position in ``net.layers`` (0-based).
        type (str): Layer type, e.g. ``'conv'``, ``'relu'``, ``'SubP'``, ``'concat'``.
        name (str): Layer name.
        params (dict): Numeric fields (``stride``, ``pad``, ``dilate``, ``leak``, ``scale``), each
            a tuple of floats.
        weights (tuple): Weight arrays as stored in HDF5 (MATLAB dimensions reversed), float32.
    """

    index: int
    type: str
    name: str
    params: Dict[str, Tuple[float, ...]]
    weights: Tuple[np.ndarray, ...]


def read_matconvnet_layers(path: str) -> List[MatLayer]:
    """Read ``net.layers`` from a MATLAB v7.3 MatConvNet file.

    Args:
        path (str): The ``.mat`` file.

    Returns:
        list[MatLayer]: The layers in order.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        ValueError: If it is not an HDF5 (v7.3) file or holds no ``net.layers``.
    """
    try:
        import h5py
    except ImportError as err:
        raise ImportError('reading MATLAB v7.3 weights needs h5py: pip install h5py') from err
    if not os.path.isfile(path):
        raise FileNotFoundError(f'MATLAB weight file not found: {path}')
    if not h5py.is_hdf5(path):
        raise ValueError(f'{path} is not a MATLAB v7.3 (HDF5) file; re-save it in MATLAB with '
                         "save(..., 'net', '-v7.3')")
    with h5py.File(path, 'r') as f:
        if 'net' not in f or 'layers' not in f['net']:
            raise ValueError(f'{path}: no net.layers (a MatConvNet SimpleNN model); top-level '
                             f'keys: {sorted(f.keys())}')
        layers = []
        for index, ref in enumerate(np.asarray(f['net/layers']).ravel()):
            group = f[ref]
            weights = group.get('weights')
            arrays = ()
            if weights is not None and h5py.check_dtype(ref=weights.dtype) is not None:
                refs = np.asarray(weights).ravel()
                arrays = tuple(np.asarray(f[r], dtype=np.float32) for r in refs)
            params = {
                key: tuple(float(v) for v in np.asarray(group[key]).ravel())
                for key in ('stride', 'pad', 'dilate', 'leak', 'scale') if key in group}
            layers.append(
                MatLayer(index, _char(group['type']), _char(group['name']), params, arrays))
    return layers


def _char(dataset) -> str:
    """Decode a MATLAB char array (uint16 code units) to ``str``."""
    return ''.join(chr(c) for c in np.asarray(dataset).ravel())


def conv_weight_to_torch(weight: np.ndarray) -> Tensor:
    """Turn an HDF5-stored MatConvNet kernel into a PyTorch ``Conv2d`` weight.

    Args:
        weight (np.ndarray): ``(C_out, C_in, kW, kH)``; MATLAB drops a trailing singleton
            ``C_out`` (one output channel), so ``(C_in, kW, kH)`` is accepted too.

    Returns:
        Tensor: ``(C_out, C_in, kH, kW)`` float32.
    """
    if weight.ndim == 3:
        weight = weight[None]
    if weight.ndim != 4:
        raise ValueError(f'expected a 4-D convolution kernel, got shape {weight.shape}')
    return torch.from_numpy(np.ascontiguousarray(weight.transpose(0, 1, 3, 2)))


def detect_arch(layers: List[MatLayer]) -> str:
    """Return ``'ffdnet'`` for a net with sub-pixel (``SubP``) layers, else ``'dncnn'``."""
    return 'ffdnet' if any(layer.type == 'SubP' for layer in layers) else 'dncnn'


def _conv_stack(layers: List[MatLayer], source: str) -> StateDict:
    """Map ``conv, relu, ..., conv`` to ``layers.{i}.conv.{weight,bias}``, checking every layer."""
    if len(layers) % 2 == 0:
        raise ValueError(f'{source}: expected a stack conv, relu, ..., conv (an odd number of '
                         f'layers), got layer types {[layer.type for layer in layers]}')
    state_dict: StateDict = {}
    for pos, layer in enumerate(layers):
        expected = 'conv' if pos % 2 == 0 else 'relu'
        where = f'{source}: layer {layer.index} ({layer.name!r})'
        if layer.type != expected:
            raise ValueError(f'{where}: expected {expected!r} in a stack conv, relu, ..., conv, '
                             f'got {layer.type!r} (unfolded batch norm is not supported)')
        if expected == 'relu':
            if layer.params.get('leak', (0.0, ))[0] != 0:
                raise ValueError(f'{where}: leaky ReLU (leak={layer.params["leak"]}) unsupported')
            continue
        for key, want in (('stride', 1.0), ('pad', 1.0), ('dilate', 1.0)):
            if any(v != want for v in layer.params.get(key, (want, ))):
                raise ValueError(f'{where}: expected {key}={want:g}, got {layer.params[key]}')
        if len(layer.weights) != 2:
            raise ValueError(f'{where}: expected 2 weight arrays (kernel, bias), '
                             f'got {len(layer.weights)}')
        kernel = conv_weight_to_torch(layer.weights[0])
        bias = torch.from_numpy(layer.weights[1].ravel().copy())
        if kernel.shape[2:] != (3, 3) or bias.numel() != kernel.shape[0]:
            raise ValueError(f'{where}: expected a 3x3 kernel and one bias per output channel, '
                             f'got kernel {tuple(kernel.shape)} and {bias.numel()} biases')
        state_dict[f'layers.{pos // 2}.conv.weight'] = kernel
        state_dict[f'layers.{pos // 2}.conv.bias'] = bias
    return state_dict


def _stack_cfg(state_dict: StateDict) -> Tuple[int, int, int]:
    """``(C_in of the first conv, its C_out, number of convs)`` of a converted stack."""
    c_out, c_in = state_dict['layers.0.conv.weight'].shape[:2]
    return c_in, c_out, len(state_dict) // 2


def _subpixel_perm(channels: int) -> Tensor:
    """Index ``p`` with ``torch_channel[t] = matconvnet_channel[p[t]]`` for 2x2 sub-images."""
    return torch.arange(4 * channels).view(channels, 2, 2).transpose(1, 2).reshape(-1)


def dncnn_state_dict(layers: List[MatLayer], source: str = '<layers>') -> Tuple[StateDict, dict]:
    """Convert a MatConvNet DnCNN (conv/relu stack, output = noise) for :class:`DnCNN`.

    Returns:
        tuple[dict, dict]: State dict for ``DnCNN(**cfg)`` and the model config ``cfg``.
    """
    state_dict = _conv_stack(layers, source)
    in_channels, channels, num_layers = _stack_cfg(state_dict)
    last = state_dict[f'layers.{num_layers - 1}.conv.weight']
    if last.shape[0] != in_channels:
        raise ValueError(f'{source}: the last conv gives {last.shape[0]} channels, the first takes '
                         f'{in_channels}; a DnCNN predicts noise of the input shape')
    cfg = dict(type='DnCNN', in_channels=in_channels, channels=channels,
               num_layers=num_layers, bn=False)
    return state_dict, cfg


def ffdnet_state_dict(layers: List[MatLayer], source: str = '<layers>') -> Tuple[StateDict, dict]:
    """Convert a MatConvNet FFDNet (SubP 1/2, concat sigma, conv/relu stack, SubP 2).

    Returns:
        tuple[dict, dict]: State dict for ``FFDNet(**cfg)`` and the model config ``cfg``.
    """
    types = [(layer.type, layer.params.get('scale', (None, ))[0]) for layer in layers]
    head, tail = [('SubP', 0.5), ('concat', None)], ('SubP', 2.0)
    if len(layers) < 5 or types[:2] != head or types[-1] != tail:
        raise ValueError(f'{source}: expected an FFDNet layout [SubP(scale=0.5), concat, conv, '
                         f'relu, ..., conv, SubP(scale=2)], got {types[:2]} ... {types[-1:]}')
    state_dict = _conv_stack(layers[2:-1], source)
    c_in, channels, num_layers = _stack_cfg(state_dict)
    image_channels = (c_in - 1) // 4
    first, last = 'layers.0.conv.weight', f'layers.{num_layers - 1}.conv'
    c_out = state_dict[f'{last}.weight'].shape[0]
    if c_in != 4 * image_channels + 1 or c_out != 4 * image_channels:
        raise ValueError(f'{source}: expected 4C + 1 input and 4C output channels (C image '
                         f'channels), got {c_in} and {c_out}')
    perm = _subpixel_perm(image_channels)
    weight = state_dict[first]  # sub-images first, the noise-level map last
    state_dict[first] = torch.cat([weight[:, perm], weight[:, 4 * image_channels:]], dim=1)
    for key in (f'{last}.weight', f'{last}.bias'):
        state_dict[key] = state_dict[key][perm].contiguous()
    cfg = dict(type='FFDNet', in_channels=image_channels, channels=channels,
               num_layers=num_layers, bn=False)
    return state_dict, cfg


def load_matlab_state_dict(path: str, arch: Optional[str] = None) -> Tuple[StateDict, dict]:
    """Read a MatConvNet ``.mat`` file and convert it for :class:`DnCNN` or :class:`FFDNet`.

    Args:
        path (str): The ``.mat`` file (MATLAB v7.3).
        arch (str, optional): ``'dncnn'`` or ``'ffdnet'``; None detects it from the layers.
            Defaults to None.

    Returns:
        tuple[dict, dict]: State dict and model config (``dict(type=..., ..., bn=False)``).

    Raises:
        ValueError: On an unknown ``arch``, an ``arch`` that contradicts the file, or a layout
            that is not the expected one.
    """
    if arch is not None and arch not in ARCHS:
        raise ValueError(f'arch must be one of {ARCHS}, got {arch!r}')
    layers = read_matconvnet_layers(path)
    detected = detect_arch(layers)
    if arch is not None and arch != detected:
        raise ValueError(f'{path}: the layers (types {sorted({layer.type for layer in layers})}) '
                         f'are arch={detected!r}, but arch={arch!r} was asked for')
    convert = dncnn_state_dict if detected == 'dncnn' else ffdnet_state_dict
    return convert(layers, path)


def build_from_matlab(path: str, arch: Optional[str] = None) -> nn.Module:
    """Build the matching :class:`DnCNN`/:class:`FFDNet` (``bn=False``) and load ``path`` into it.

    Args:
        path (str): The ``.mat`` file (MATLAB v7.3).
        arch (str, optional): As in :func:`load_matlab_state_dict`. Defaults to None.

    Returns:
        nn.Module: The network with the released weights, in eval mode.
    """
    state_dict, cfg = load_matlab_state_dict(path, arch)
    kwargs = {k: v for k, v in cfg.items() if k != 'type'}
    model = (DnCNN if cfg['type'] == 'DnCNN' else FFDNet)(**kwargs)
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def convert_matlab_file(src: str, dst: str, arch: str, force: bool = False,
                        prefix: str = '') -> dict:
    """Convert ``src`` and write an mmengine checkpoint ``{'state_dict', 'meta'}`` to ``dst``.

    Args:
        src (str): MatConvNet ``.mat`` file.
        dst (str): Output checkpoint path; its folder is created if needed.
        arch (str): ``'dncnn'`` or ``'ffdnet'``.
        force (bool): Overwrite an existing ``dst``. Defaults to False.
        prefix (str): Prepended to every key (``'denoiser.'`` for a cascade checkpoint).
            Defaults to ''.

    Returns:
        dict: The ``meta`` written into the checkpoint (``model_cfg`` builds the network).

    Raises:
        FileExistsError: If ``dst`` exists and ``force`` is False.
        FileNotFoundError, ValueError: From :func:`load_matlab_state_dict`.
    """
    if os.path.exists(dst) and not force:
        raise FileExistsError(f'{dst} exists; pass --force to overwrite it')
    state_dict, model_cfg = load_matlab_state_dict(src, arch)
    state_dict = {prefix + k: v for k, v in state_dict.items()}
    meta = dict(
        source=os.path.basename(src),
        source_sha256=sha256_of(src),
        arch=arch,
        model_cfg=model_cfg,
        key_prefix=prefix,
        converter=f'mmsemdenoise {__version__} tools/convert_matlab_weights.py')
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), dst)
    return meta
