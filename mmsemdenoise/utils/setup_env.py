"""Scope setup: the ``mmsemdenoise::`` config prefix and :func:`register_all_modules`."""
import datetime
import warnings

from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import DefaultScope

from mmsemdenoise.registry import SCOPE


def enable_package_config_prefix() -> None:
    """Let mmengine resolve ``_base_ = 'mmsemdenoise::<folder>/<config>.py'``.

    mmengine 0.10.x accepts ``pkg::`` bases only for packages in its table
    ``mmengine.config.utils.MODULE2PACKAGE`` (open-mmlab/mmengine#1410) and offers no other hook,
    so the package adds its own entry -- this is the only place that touches an upstream object.
    It runs when ``mmsemdenoise`` is imported, so it is in effect for ``tools/train.py``,
    ``mim train mmsemdenoise`` and the Python API, not for mmseg's own ``tools/train.py``.
    """
    MODULE2PACKAGE.setdefault(SCOPE, SCOPE)


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module that registers into the ``mmsemdenoise`` registries.

    Also imports mmseg's and mmpretrain's registries so that their scopes are children of
    mmengine's roots, which ``type='mmseg.X'`` and ``_scope_='mmseg'`` lookups need.

    Args:
        init_default_scope (bool): Whether to set the default scope to ``mmsemdenoise``. If
            another scope is current, a new uniquely named ``mmsemdenoise`` scope instance is
            created (as mmpretrain does) and a warning says so. Defaults to True.
    """
    import mmpretrain.registry  # noqa: F401
    import mmseg.registry  # noqa: F401

    import mmsemdenoise.datasets  # noqa: F401
    import mmsemdenoise.engine  # noqa: F401
    import mmsemdenoise.evaluation  # noqa: F401
    import mmsemdenoise.models  # noqa: F401

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created(SCOPE):
        DefaultScope.get_instance(SCOPE, scope_name=SCOPE)
    elif current.scope_name != SCOPE:
        warnings.warn(f'The current default scope "{current.scope_name}" is not "{SCOPE}"; '
                      f'`register_all_modules` sets it to "{SCOPE}" now.')
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
        DefaultScope.get_instance(f'{SCOPE}-{stamp}', scope_name=SCOPE)
