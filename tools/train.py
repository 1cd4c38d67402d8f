"""Train a denoiser or a denoiser + frozen task model cascade with the mmengine Runner.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher pytorch]
    mim train mmsemdenoise CONFIG ...            (same flags; installed package)
    bash tools/dist_train.sh CONFIG N [options]   (N processes: GPUs with NCCL, else gloo on CPU)

``--resume`` without a value takes the newest complete checkpoint of the work dir and skips
damaged ones with a warning; ``--resume PATH`` stops with an error if PATH is damaged
(:mod:`mmsemdenoise.utils.resume`).
"""
import argparse

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.utils.cli import add_common_args, load_config
from mmsemdenoise.utils.dist import init_cpu_process_group
from mmsemdenoise.utils.resume import check_checkpoint, find_resume_checkpoint


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='config file (path, or mmsemdenoise::folder/name.py)')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or (no value) from the latest one in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (AmpOptimWrapper; needs a GPU)')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip validation during training')
    add_common_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        latest = find_resume_checkpoint(cfg.work_dir)
        if latest is not None:  # else a first start, with the config's own load_from
            cfg.resume, cfg.load_from = True, latest
    elif args.resume is not None:
        local = '://' not in args.resume
        cfg.resume, cfg.load_from = True, check_checkpoint(args.resume) if local else args.resume
    init_cpu_process_group(cfg)

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
