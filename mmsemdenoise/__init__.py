"""mmsemdenoise: task-guided image denoising for OpenMMLab (Liu et al., IJCAI 2018)."""
from .utils import (enable_package_config_prefix, register_atomic_backend,
                    register_model_zoo_scheme, register_safe_local_loader)
from .version import __version__

enable_package_config_prefix()
register_safe_local_loader()
register_model_zoo_scheme()
register_atomic_backend()

from .registration import register_all_modules  # noqa: E402 (after the set-up above)

__all__ = ['__version__', 'register_all_modules']
