"""Checks ``tools/train.py`` runs before it builds the Runner, so that a known mistake ends in one
line naming it instead of a traceback after the datasets are built (or 1000 iterations later).

* :func:`check_checkpoint_hook`: ``default_hooks.checkpoint`` options that
  :class:`mmengine.hooks.CheckpointHook` does not take. It keeps unknown keyword arguments and
  hands them to ``Runner.save_checkpoint`` at the first save, which then raises ``TypeError``.
* :func:`check_load_from`: the config's ``load_from`` exists and loads with the allowlist
  (tensors mapped, not read), or is trusted.
"""
import difflib
import inspect
import zipfile
from typing import Iterable, List

from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from .checkpoint import UntrustedCheckpointError, is_trusted, load_checkpoint_file

#: Keys of a hook config that are not arguments of the hook.
HOOK_CFG_KEYS = ('type', 'priority', '_scope_')


def _named_args(cls: type) -> List[str]:
    """Named arguments of ``cls.__init__`` (without ``self``, ``*args``, ``**kwargs``)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != 'self' and
            p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]


def unknown_options(options: Iterable[str], known: Iterable[str]) -> List[str]:
    """``'name'`` or ``'name (did you mean x?)'`` for every option not in ``known``."""
    known = list(known)
    found = []
    for name in options:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        found.append(f'{name} (did you mean {close[0]}?)' if close else name)
    return found


def check_checkpoint_hook(cfg: Config) -> None:
    """Refuse ``default_hooks.checkpoint`` options the checkpoint hook does not take.

    Raises:
        ValueError: Naming the options, a close match, and the options it takes.
    """
    hook_cfg = (cfg.get('default_hooks') or {}).get('checkpoint')
    if not isinstance(hook_cfg, dict):
        return
    hook_type = hook_cfg.get('type', 'CheckpointHook')
    cls = HOOKS.get(hook_type) if isinstance(hook_type, str) else hook_type
    if not isinstance(cls, type) or not issubclass(cls, CheckpointHook):
        return
    known = _named_args(cls) + list(HOOK_CFG_KEYS)
    unknown = unknown_options(hook_cfg, known)
    if unknown:
        raise ValueError(f'default_hooks.checkpoint: {cls.__name__} takes no option '
                         f'{", ".join(unknown)}; it takes {", ".join(_named_args(cls))}')


def check_load_from(path: str) -> None:
    """Check that a local ``load_from`` exists and loads with ``weights_only=True`` and the
    allowlist (zip files: tensors mapped, not read), unless :func:`trust_checkpoint` named it.

    Raises:
        FileNotFoundError: If it is not a file.
        UntrustedCheckpointError: If it needs classes outside the allowlist.
    """
    if is_trusted(path):
        return
    try:
        load_checkpoint_file(path, map_location='cpu', trust=False,
                             mmap=zipfile.is_zipfile(path))
    except FileNotFoundError:
        raise FileNotFoundError(f'load_from: checkpoint file not found: {path}') from None
    except UntrustedCheckpointError as error:
        raise UntrustedCheckpointError(f'load_from: {error}') from None
