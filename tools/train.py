"""Train a denoiser or a denoiser + frozen task model cascade with the mmengine Runner.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher pytorch]
    mim train mmsemdenoise CONFIG ...            (same flags; installed package)
    bash tools/dist_train.sh CONFIG N [options]   (N processes: GPUs with NCCL, else gloo on CPU)

``--resume`` without a value takes the newest complete checkpoint of the work dir and skips
damaged ones with a warning; ``--resume PATH`` stops with an error if PATH is damaged
(:mod:`mmsemdenoise.utils.resume`). Checkpoints load with ``weights_only=True`` and mmengine's
allowlist; ``--trust-checkpoint`` lifts that for the resumed file, ``load_from`` and the
model's ``task_checkpoint`` / ``denoiser_checkpoint``.

Before the Runner is built (so before any data is loaded) the known mistakes end in one line
(``train.py: error: ...``): a missing, damaged, refused or weights-only ``--resume`` file, a
missing or refused ``load_from``, a ``default_hooks.checkpoint`` option the hook does not take
(:mod:`mmsemdenoise.utils.preflight`). Temporary checkpoint files of killed runs
(``iter_N.pth.tmp-PID``) are removed from the work dir, and named.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.utils import is_shipped_name, shipped_path
from mmsemdenoise.utils.atomic_files import remove_stale_temp_files
from mmsemdenoise.utils.cli import (KNOWN_ERRORS, add_common_args, add_trust_arg, fail,
                                    load_config, trust_run_checkpoints)
from mmsemdenoise.utils.dist import init_cpu_process_group
from mmsemdenoise.utils.preflight import check_checkpoint_hook, check_load_from
from mmsemdenoise.utils.resume import check_resumable, find_resume_checkpoint


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='config file (path, or mmsemdenoise::folder/name.py)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or (no value) from the latest one in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (AmpOptimWrapper; needs a GPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    add_trust_arg(parser)
    add_common_args(parser)
    return parser.parse_args(argv)


def prepare(args: argparse.Namespace) -> Config:
    """The config with the resume choice applied, every pre-Runner check passed."""
    cfg = load_config(args)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    check_checkpoint_hook(cfg)
    rank = os.environ.get('RANK', os.environ.get('LOCAL_RANK', '0'))
    if rank == '0' and osp.isdir(cfg.work_dir):  # only the first process writes checkpoints
        remove_stale_temp_files(cfg.work_dir)
    if args.resume == 'auto':
        latest = find_resume_checkpoint(cfg.work_dir)
        if latest is not None:  # else a first start, with the config's own load_from
            cfg.resume, cfg.load_from = True, latest
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.trust_checkpoint:
        trust_run_checkpoints(cfg)
    load_from = cfg.get('load_from')
    if load_from and is_shipped_name(load_from):
        shipped_path(load_from)  # missing or damaged (sha256): one line now, not after the data
    elif load_from and '://' not in load_from:
        if cfg.get('resume'):
            check_resumable(load_from, trust=args.trust_checkpoint)
        else:
            check_load_from(load_from)
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        cfg = prepare(args)
    except KNOWN_ERRORS as error:
        fail('train.py', error)
    init_cpu_process_group(cfg)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
