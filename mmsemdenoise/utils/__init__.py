from .checkpoint import load_from_trusted_local, register_trusted_local_loader
from .model_zoo import (is_shipped_name, register_model_zoo_scheme, shipped_config, shipped_names,
                        shipped_path)
from .setup_env import enable_package_config_prefix, register_all_modules
from .weights import CheckpointMismatchError, LoadReport, load_weights, state_dict_of

__all__ = [
    'CheckpointMismatchError', 'LoadReport', 'enable_package_config_prefix', 'is_shipped_name',
    'load_from_trusted_local', 'load_weights', 'register_all_modules',
    'register_model_zoo_scheme', 'register_trusted_local_loader', 'shipped_config',
    'shipped_names', 'shipped_path', 'state_dict_of'
]
