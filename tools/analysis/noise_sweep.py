"""Sweep the Gaussian noise level: task metric and PSNR/SSIM of each denoiser in front of the task.

For every sigma: ``noisy`` (no denoiser), a classical denoiser (``--classical``: scikit-image
non-local means by default; ``bm3d`` needs ``pip install bm3d`` and takes ~5 s per 240x180 image
on one CPU core), and each ``--variant NAME=CHECKPOINT[,CONFIG]`` (a cascade checkpoint or a bare
denoiser checkpoint; CONFIG builds its denoiser, default: CONFIG's ``model.denoiser``), plus
``clean`` (no noise, no denoiser) once. Evaluated with the config's test dataloader and metrics
by mmengine's Runner; every variant sees the same seeded noisy images.

Writes to --out-dir: sweep.md, sweep.csv, sweep_<metric>.png (one per metric) and
examples_sigma<s>.png (noisy | each denoiser | clean, with the predicted masks for segmentation).

Usage:
    python tools/analysis/noise_sweep.py CONFIG --task-checkpoint T.pth \
        --variant mse=stage1.pth --variant joint=stage2.pth \
        [--sigmas 0 15 30 45 60] [--classical nlm|bm3d|none] [--num-images N] \
        [--num-examples 3] [--out-dir DIR] [--cfg-options k=v ...]

Example (the CPU CamVid cascade, stage 1 vs stage 2):
    python tools/analysis/noise_sweep.py configs/cascade/fastscnn_denoise_camvid_cpu.py \
        --task-checkpoint work_dirs/fastscnn_camvid-180x240_cpu/iter_4000.pth \
        --variant mse=work_dirs/three-scale_bsd400_sigma25_cpu-1h/iter_10000.pth \
        --variant joint=work_dirs/fastscnn_denoise_camvid_cpu/iter_300.pth --num-images 20
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs)
from mmsemdenoise.analysis import (build_variants, check_sigmas, parse_variant, prepare_config,
                                   run_sweep, write_report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a DenoisingCascade config (mmseg or mmpretrain task)')
    parser.add_argument('--task-checkpoint', help="the frozen task model's weights "
                        "(default: the config's model.task_checkpoint)")
    parser.add_argument('--variant', action='append', default=[], metavar='NAME=CKPT[,CONFIG]',
                        help='a denoiser to compare (repeat the option for several)')
    parser.add_argument('--sigmas', type=float, nargs='+', default=[0, 15, 30, 45, 60],
                        help='Gaussian noise levels on the 0-255 scale')
    parser.add_argument('--classical', default='nlm',
                        help="classical baseline: 'nlm' (scikit-image), 'bm3d' or 'none'")
    parser.add_argument('--num-images', type=int, help='evaluate the first N test images only')
    parser.add_argument('--num-examples', type=int, default=3,
                        help='images in each examples_sigma<s>.png')
    parser.add_argument('--out-dir', help='output folder (default: work_dirs/noise_sweep/<config>)')
    parser.add_argument('--log-level', default='WARNING', help="the Runner's log level")
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    name = osp.splitext(osp.basename(args.config.split('::')[-1]))[0]
    out_dir = args.out_dir or osp.join('work_dirs', 'noise_sweep', name)
    try:  # every mistake in the command line is reported before anything runs
        if '::' not in args.config and not osp.isfile(args.config):
            raise FileNotFoundError(f'config file not found: {args.config}')
        check_sigmas(args.sigmas)
        for spec in args.variant:
            parse_variant(spec)
        if args.task_checkpoint and not osp.isfile(args.task_checkpoint) \
                and '://' not in args.task_checkpoint:
            raise FileNotFoundError(f'task checkpoint not found: {args.task_checkpoint}')
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        test_cfg = prepare_config(cfg, out_dir, args.task_checkpoint, args.num_images,
                                  args.log_level)
        denoisers = build_variants(cfg, args.variant, args.classical)
    except (FileNotFoundError, ValueError, TypeError, ImportError, KeyError) as error:
        parser.error(str(error.args[0]) if isinstance(error, KeyError) else str(error))
    os.makedirs(out_dir, exist_ok=True)
    rows, examples, metainfo = run_sweep(test_cfg, denoisers, args.sigmas, args.num_examples,
                                         progress=not args.no_progress)
    table = write_report(rows, examples, metainfo, out_dir)
    print(table)
    print(f'\nwritten to {out_dir}: sweep.md, sweep.csv, sweep_*.png, examples_sigma*.png')


if __name__ == '__main__':
    main()
