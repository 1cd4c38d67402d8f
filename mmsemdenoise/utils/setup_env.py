"""Scope setup: the ``mmsemdenoise::`` config prefix.

:func:`~mmsemdenoise.register_all_modules` lives at the package root
(:mod:`mmsemdenoise.registration`): it imports the packages above ``utils``.
"""
from mmengine.config.utils import MODULE2PACKAGE

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
