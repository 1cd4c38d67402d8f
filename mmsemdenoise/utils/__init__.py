from .checkpoint import load_trusted_local_checkpoint, register_trusted_local_loader
from .setup_env import enable_package_config_prefix, register_all_modules

__all__ = [
    'enable_package_config_prefix', 'load_trusted_local_checkpoint',
    'register_all_modules', 'register_trusted_local_loader'
]
