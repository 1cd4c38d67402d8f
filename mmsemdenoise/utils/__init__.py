from .atomic_files import AtomicLocalBackend, register_atomic_backend
from .checkpoint import (UntrustedCheckpointError, load_checkpoint_file, register_safe_local_loader,
                         trust_checkpoint, trusting)
from .device import cpu_has_native_bfloat16
from .dist import init_cpu_process_group
from .model_zoo import (is_shipped_name, register_model_zoo_scheme, shipped_config, shipped_names,
                        shipped_path)
from .resume import DamagedCheckpointError, check_checkpoint, find_resume_checkpoint
from .setup_env import enable_package_config_prefix
from .weights import CheckpointMismatchError, LoadReport, load_weights, state_dict_of

__all__ = [
    'AtomicLocalBackend', 'CheckpointMismatchError', 'DamagedCheckpointError', 'LoadReport',
    'UntrustedCheckpointError', 'check_checkpoint', 'cpu_has_native_bfloat16',
    'enable_package_config_prefix', 'find_resume_checkpoint', 'init_cpu_process_group',
    'is_shipped_name', 'load_checkpoint_file', 'load_weights', 'register_atomic_backend',
    'register_model_zoo_scheme', 'register_safe_local_loader', 'shipped_config',
    'shipped_names', 'shipped_path', 'state_dict_of', 'trust_checkpoint', 'trusting'
]
