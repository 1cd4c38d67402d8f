"""Train a denoiser or a denoiser + frozen task model cascade with the mmengine Runner.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher pytorch]
    mim train mmsemdenoise CONFIG ...            (same flags; installed package)
"""
import argparse

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.utils.cli import add_common_args, load_config


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
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume

    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
