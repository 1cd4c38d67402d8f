"""The architecture a checkpoint carries: what network its denoiser weights are for.

A checkpoint names its denoiser's config in one of three ways, read in this order:

1. a shipped name (``mmsemdenoise://<name>``): its metafile entry's ``Config``;
2. ``meta['model_cfg']``: a denoiser config a converter wrote (``tools/convert_matlab_weights.py``);
3. ``meta['cfg']``: the run's config, which mmengine writes into every checkpoint; its
   ``model.denoiser``, or, when that config declared none (a stage 2 that took its architecture
   from its own ``denoiser_checkpoint``), the architecture of that checkpoint in turn.

``meta['cfg']`` is read by :func:`~mmsemdenoise.utils.config_text.model_settings`, which parses
the text and never runs it, and the file itself loads with ``weights_only=True``
(:mod:`mmsemdenoise.utils.checkpoint`): reading an architecture runs no code of the file.
"""
import inspect
import os.path as osp
from typing import Mapping, Optional, Tuple

from mmengine.config import Config
from mmengine.runner.checkpoint import CheckpointLoader

from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils.checkpoint import load_checkpoint_file, trusting
from mmsemdenoise.utils.config_text import model_settings
from mmsemdenoise.utils.model_zoo import SCHEME, is_shipped_name, shipped_config
from mmsemdenoise.utils.weights import resolve_checkpoint

#: How many ``denoiser_checkpoint`` links :func:`carried_architecture` follows.
MAX_LINKS = 8
NO_ARCHITECTURE_HINT = (
    "declare it, denoiser=dict(type=...), or write it into the file as meta['model_cfg'] "
    "(torch.save(dict(state_dict=..., meta=dict(model_cfg=dict(type=...))), path))")


def _settings_of(checkpoint: str, trust: bool) -> Tuple[Optional[dict], dict]:
    """``(meta['model_cfg'] or None, {denoiser, denoiser_checkpoint} of its config)``."""
    if is_shipped_name(checkpoint):
        model = Config.fromfile(shipped_config(checkpoint)).get('model') or {}
        return None, {k: model.get(k) for k in ('denoiser', 'denoiser_checkpoint')}
    path = resolve_checkpoint(checkpoint)
    if '://' in path and not path.startswith('file://'):
        with trusting(path, trust):
            loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    else:
        try:  # a zip file is mapped, not read: only its meta is wanted
            loaded = load_checkpoint_file(path, 'cpu', trust=trust or None, mmap=True)
        except RuntimeError:  # the legacy (non-zip) format cannot be mapped
            loaded = load_checkpoint_file(path, 'cpu', trust=trust or None)
    meta = loaded.get('meta') if isinstance(loaded, Mapping) else None
    meta = meta if isinstance(meta, Mapping) else {}
    if isinstance(meta.get('model_cfg'), Mapping):
        return dict(meta['model_cfg']), {}
    text = meta.get('cfg')
    if not isinstance(text, str):
        return None, {}
    try:
        return None, model_settings(text, ('denoiser', 'denoiser_checkpoint'))
    except (SyntaxError, ValueError) as error:
        raise ValueError(f"checkpoint {checkpoint}: meta['cfg'] is not a readable config "
                         f'({error})') from None


def carried_architecture(checkpoint: str, trust: bool = False) -> Optional[dict]:
    """The denoiser config a checkpoint carries (see the module), or None if it carries none.

    Args:
        checkpoint (str): A file, a run's work dir, a URL or a shipped name (bare or with
            ``mmsemdenoise://``).
        trust (bool): Load a local file that needs classes outside the allowlist with
            ``weights_only=False`` (only for files you trust). Defaults to False.

    Returns:
        dict, optional: e.g. ``{'type': 'ThreeScaleDenoiser'}`` (``init_cfg`` left out).

    Raises:
        FileNotFoundError: If the checkpoint, or a ``denoiser_checkpoint`` its config takes the
            architecture from, is missing (the message names the chain).
        ValueError: If ``meta['cfg']`` cannot be read, or the links run in a circle.
    """
    chain = []
    while True:
        if is_shipped_name(checkpoint) and '://' not in checkpoint:
            checkpoint = SCHEME + checkpoint
        if checkpoint in chain or len(chain) >= MAX_LINKS:
            raise ValueError(f'denoiser_checkpoint links run in a circle or too deep: '
                             f'{" -> ".join(chain + [checkpoint])}')
        try:
            model_cfg, settings = _settings_of(checkpoint, trust)
        except FileNotFoundError as error:
            if not chain:
                raise
            raise FileNotFoundError(f'{chain[0]} takes its denoiser architecture from '
                                    f'{" -> ".join(chain[1:] + [checkpoint])}: {error}') from None
        chain.append(checkpoint)
        if model_cfg is not None:
            return _without_init(model_cfg)
        denoiser, parent = settings.get('denoiser'), settings.get('denoiser_checkpoint')
        if isinstance(denoiser, Mapping) and denoiser.get('type'):
            return _without_init(denoiser)
        if not (isinstance(parent, str) and parent):
            return None
        checkpoint = parent


def _without_init(cfg: Mapping) -> dict:
    return {k: v for k, v in cfg.items() if k != 'init_cfg'}


def portable_architecture(cfg: Optional[Mapping]) -> Optional[dict]:
    """A denoiser config as a checkpoint can carry it in ``meta['model_cfg']``, or None.

    ``init_cfg`` is left out (where the weights came from is not the architecture), and every
    mapping becomes a plain ``dict`` (a ``ConfigDict`` would not load with ``weights_only=True``);
    lists and tuples keep their type.

    Args:
        cfg (Mapping, optional): A denoiser config, ``dict(type='ThreeScaleDenoiser', ...)``.

    Returns:
        dict, optional: The plain config; None if ``cfg`` is None or its ``type`` is not a
        registered name (a class object cannot be stored in a checkpoint read with
        ``weights_only=True``).
    """
    if cfg is None or not isinstance(cfg.get('type'), str):
        return None

    def plain(value):
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(plain(v) for v in value)
        return value

    return plain(_without_init(cfg))


def _arguments(cfg: Mapping) -> Tuple[object, dict]:
    """``(class or type name, every constructor argument with its default filled in)``."""
    args = _without_init(cfg)
    kind = args.pop('type', None)
    cls = MODELS.get(kind) if isinstance(kind, str) else kind
    if cls is None:
        return kind, _plain(args)
    defaults = {name: p.default for name, p in inspect.signature(cls).parameters.items()
                if p.default is not inspect.Parameter.empty and name != 'init_cfg'}
    return cls, _plain({**defaults, **args})


def _plain(value):
    """Tuples as lists, ConfigDicts as dicts: a config's text and its file compare equal."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def same_architecture(a: Mapping, b: Mapping) -> bool:
    """Whether two denoiser configs build the same network (defaults filled in, ``init_cfg``
    and a registry scope prefix ignored)."""
    return _arguments(a) == _arguments(b)


def _show(cfg: Mapping) -> str:
    return 'dict(' + ', '.join(f'{k}={v!r}' for k, v in _without_init(cfg).items()) + ')'


def resolve_architecture(denoiser: Optional[Mapping],
                         checkpoint: Optional[str],
                         trust: bool = False,
                         owner: str = 'denoiser') -> dict:
    """The denoiser config to build: the checkpoint's own, checked against an explicit one.

    Args:
        denoiser (Mapping, optional): An explicit ``denoiser=`` config, or None.
        checkpoint (str, optional): The weights the denoiser will load (see
            :func:`carried_architecture`), or None.
        trust (bool): As in :func:`carried_architecture`. Defaults to False.
        owner (str): Who asks, for messages. Defaults to 'denoiser'.

    Returns:
        dict: The explicit config when given (the checkpoint's agrees with it, or the
        checkpoint carries none or is not there yet), else the checkpoint's.

    Raises:
        ValueError: If the explicit config contradicts the checkpoint's (one line naming both),
            has no ``type``, or neither exists.
        FileNotFoundError: If the checkpoint is missing and no explicit config is given.
    """
    if denoiser is not None and not denoiser.get('type'):
        raise ValueError(f'{owner}: denoiser={_show(denoiser)} has no type; declare the whole '
                         "network (dict(type='ThreeScaleDenoiser', ...)) or leave denoiser out "
                         'to take the architecture of the checkpoint')
    carried = None
    if checkpoint:
        is_local = '://' not in checkpoint and not is_shipped_name(checkpoint)
        if denoiser is not None and is_local and not osp.exists(checkpoint):
            return dict(denoiser)  # not written yet: its weights load (or fail) later
        try:
            carried = carried_architecture(checkpoint, trust)
        except FileNotFoundError as error:
            raise FileNotFoundError(f'{owner}: {error} (the denoiser is built with the '
                                    'architecture of its checkpoint)') from None
    if denoiser is None and carried is None:
        if not checkpoint:
            raise ValueError(f'{owner}: no denoiser config and no checkpoint to take one from')
        raise ValueError(f'{owner}: checkpoint {checkpoint} carries no denoiser architecture '
                         "(not a shipped name, no meta['model_cfg'], no model.denoiser in "
                         f"meta['cfg']); {NO_ARCHITECTURE_HINT}")
    if denoiser is not None and carried is not None and not same_architecture(denoiser,
                                                                              carried):
        raise ValueError(f'{owner}: denoiser={_show(denoiser)} contradicts the architecture '
                         f'of its checkpoint {checkpoint}: {_show(carried)}')
    return dict(denoiser) if denoiser is not None else carried
