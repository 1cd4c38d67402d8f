"""Distributed runs without a GPU: a gloo process group and a DDP wrapper without device ids.

mmengine 0.10.7's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` and fails on a machine
without CUDA (``Found no NVIDIA driver``); the Runner skips it when a process group exists already,
and its ``model_wrapper_cfg`` takes the DDP arguments. So ``tools/train.py`` and ``tools/test.py``
call :func:`init_cpu_process_group` before building the Runner: under ``torchrun`` on a CPU-only
machine it starts a gloo group and asks for ``MMDistributedDataParallel(device_ids=None)``, as
DDP requires for CPU modules. With CUDA nothing changes (mmengine's NCCL path).
"""
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log


def init_cpu_process_group(cfg: Config) -> bool:
    """Under ``--launcher pytorch`` without CUDA, start a gloo process group for the Runner.

    Rank, world size and the master address come from torchrun's environment variables. The
    config's ``env_cfg.dist_cfg.backend`` (``nccl`` in the shared runtime) is for GPUs and is
    not used here; ``timeout`` in it is.

    Args:
        cfg (Config): The run's config, modified in place: ``model_wrapper_cfg`` is set to
            ``MMDistributedDataParallel`` without device ids unless the config has its own.

    Returns:
        bool: Whether a gloo group was started (False: no launcher, CUDA present, or a group
        existed already).
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available() \
            or dist.is_initialized():
        return False
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}) or {})
    kwargs = {'timeout': dist_cfg['timeout']} if 'timeout' in dist_cfg else {}
    dist.init_process_group(backend='gloo', **kwargs)
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False,
                                     find_unused_parameters=cfg.get('find_unused_parameters',
                                                                    False))
    print_log(f'no CUDA: gloo process group, rank {dist.get_rank()} of {dist.get_world_size()}, '
              'DDP without device ids', logger='current')
    return True
