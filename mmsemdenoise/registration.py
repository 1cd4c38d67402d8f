"""The registration entry point: :func:`register_all_modules`, at the top of the package.

It imports every package that registers modules (datasets, engine, evaluation, models), so it
sits above all of them (``.importlinter``); ``mmsemdenoise.utils`` stays below everything. A
config does not need it: the registries of :mod:`mmsemdenoise.registry` import their
``locations`` on first lookup. Scripts that build modules outside a Runner call it once to set the
default scope, as with mmseg's and mmpretrain's ``register_all_modules``.
"""
import datetime
import warnings

from mmengine.registry import DefaultScope

from mmsemdenoise.registry import SCOPE


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
