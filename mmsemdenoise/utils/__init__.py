from .checkpoint import load_from_trusted_local, register_trusted_local_loader
from .setup_env import enable_package_config_prefix, register_all_modules

__all__ = [
    'enable_package_config_prefix', 'load_from_trusted_local',
    'register_all_modules', 'register_trusted_local_loader'
]
