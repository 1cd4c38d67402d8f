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

from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.utils.cli import add_common_args, load_config
from mmsemdenoise.utils.dist import init_cpu_process_group


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='config file (path, or mmsemdenoise::folder/name.py)')
    parser.add_argument('checkpoint', help='checkpoint file (local path or URL)')
    parser.add_argument('--out', help='also dump the metrics to this JSON/YAML/pickle file')
    add_common_args(parser)
    return parser.parse_args()


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
