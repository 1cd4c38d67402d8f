"""Evaluate a checkpoint with the config's test dataloader and metrics.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
                         [--cfg-options k=v ...] [--launcher pytorch]

The robustness benchmark (noise corruptions x severities, P / mPC / rPC) or the Gaussian noise
sweep of a cascade checkpoint: ``--cfg-options test_cfg.type=RobustnessTestLoop`` (options of
:class:`mmsemdenoise.engine.RobustnessTestLoop` as ``test_cfg.<option>=...``).
"""
import argparse
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.utils.cli import add_common_args, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='config file (path, or mmsemdenoise::folder/name.py)')
    parser.add_argument('checkpoint', help='checkpoint file (local path or URL)')
    parser.add_argument('--out', help='also dump the metrics to this JSON/YAML/pickle file')
    add_common_args(parser)
    return parser.parse_args()


# --- CPU-only `--launcher pytorch` (minimal, for the 2-process robustness test; issue 14 makes
# CPU distributed runs work in train.py/test.py in general -- merge with that version) ---------
def init_cpu_process_group(cfg: Config) -> None:
    """Under torchrun without CUDA, start a gloo process group before the Runner is built.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and fails without a GPU; it is
    skipped when a process group exists already. The model is then wrapped in
    ``MMDistributedDataParallel`` with ``device_ids=None``, as DDP requires for CPU modules.
    """
    if cfg.get('launcher') != 'pytorch' or torch.cuda.is_available() or dist.is_initialized():
        return
    dist.init_process_group(backend='gloo')  # rank / world size / address from torchrun's env
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False)
# ----------------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    init_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out:
        from mmengine.fileio import dump
        dump(metrics, args.out)


if __name__ == '__main__':
    main()
