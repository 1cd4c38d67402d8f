"""Sweep the Gaussian noise level: task metric and PSNR/SSIM of each denoiser in front of the task.

For every sigma: ``noisy`` (no denoiser), a classical denoiser (``--classical``: scikit-image
non-local means by default; ``bm3d`` needs ``pip install bm3d`` and takes ~5 s per 240x180 image
on one CPU core), and each ``--variant NAME=CHECKPOINT`` (a cascade checkpoint, a run's work dir, a
converted or bare denoiser checkpoint, or a shipped name), built with the architecture the
checkpoint carries (a bare state dict, which carries none, is built as CONFIG's ``model.denoiser``),
plus ``clean`` (no noise, no denoiser) once. Evaluated with the config's test dataloader and metrics
by mmengine's Runner through the registered test loop ``RobustnessTestLoop`` (this tool only
sets ``test_cfg``: the same runs as ``tools/test.py CONFIG CKPT --cfg-options
test_cfg.type=RobustnessTestLoop ...``); every variant sees the same seeded noisy images.
``--corruptions`` adds the corruption benchmark (P / mPC / rPC, robustness.{md,csv,json},
robustness_<corruption>.png, examples_<corruption>_severity<s>.png); ``--sigmas`` with no value
leaves the Gaussian sweep out.

Writes to --out-dir: sweep.md, sweep.csv, sweep_<metric>.png (one per metric) and
examples_sigma<s>.png (noisy | each denoiser | clean, with the predicted masks for segmentation).

Usage:
    python tools/analysis/noise_sweep.py CONFIG --task-checkpoint T.pth \
        --variant mse=stage1.pth --variant joint=stage2.pth \
        [--sigmas 0 15 30 45 60] [--corruptions [gaussian_noise ...]] [--severities 1 2 3 4 5] \
        [--classical nlm|bm3d|none] [--num-images N] [--num-examples 3] [--out-dir DIR] \
        [--cfg-options k=v ...]

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
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs)
from mmsemdenoise.engine import parse_variants, prepare_config
from mmsemdenoise.models.noise import NOISE_CORRUPTIONS
from mmsemdenoise.utils.cli import error_message


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a DenoisingCascade config (mmseg or mmpretrain task)')
    parser.add_argument('--task-checkpoint', help="the frozen task model's weights "
                        "(default: the config's model.task_checkpoint)")
    parser.add_argument('--variant', action='append', default=[], metavar='NAME=CKPT',
                        help='a denoiser to compare (repeat the option for several)')
    parser.add_argument('--sigmas', type=float, nargs='*', default=[0, 15, 30, 45, 60],
                        help='Gaussian noise levels on the 0-255 scale (none: no Gaussian sweep)')
    parser.add_argument('--corruptions', nargs='*', choices=list(NOISE_CORRUPTIONS),
                        help='noise corruptions of the benchmark (no value: all four)')
    parser.add_argument('--severities', type=int, nargs='+', default=[1, 2, 3, 4, 5],
                        help='corruption severities')
    parser.add_argument('--classical', default='nlm',
                        help="classical baseline: 'nlm' (scikit-image), 'bm3d' or 'none'")
    parser.add_argument('--num-images', type=int, help='evaluate the first N test images only')
    parser.add_argument('--num-examples', type=int, default=3,
                        help='images in each examples_*.png')
    parser.add_argument('--out-dir', help='output folder (default: work_dirs/noise_sweep/<config>)')
    parser.add_argument('--log-level', default='WARNING', help="the Runner's log level")
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--inference-dtype', choices=['bfloat16', 'float16'],
                        help='run the learned denoisers under autocast to this dtype (bfloat16: '
                        'fast on CPUs with native bfloat16 and on GPUs)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value pairs')
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    name = osp.splitext(osp.basename(args.config.split('::')[-1]))[0]
    out_dir = args.out_dir or osp.join('work_dirs', 'noise_sweep', name)
    corruptions = (list(NOISE_CORRUPTIONS) if args.corruptions == [] else args.corruptions)
    try:  # every mistake in the command line is reported before anything runs
        if '::' not in args.config and not osp.isfile(args.config):
            raise FileNotFoundError(f'config file not found: {args.config}')
        if not args.sigmas and not corruptions:
            raise ValueError('nothing to evaluate: give --sigmas and/or --corruptions')
        if args.task_checkpoint and not osp.isfile(args.task_checkpoint) \
                and '://' not in args.task_checkpoint:
            raise FileNotFoundError(f'task checkpoint not found: {args.task_checkpoint}')
        variants = parse_variants(args.variant)
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        sweep_cfg = prepare_config(
            cfg, out_dir, args.task_checkpoint, args.num_images, args.log_level,
            sigmas=args.sigmas or None, variants=variants, classical=args.classical,
            num_examples=args.num_examples, corruptions=corruptions,
            severities=args.severities, progress=not args.no_progress,
            inference_dtype=args.inference_dtype)
        os.makedirs(out_dir, exist_ok=True)
        runner = Runner.from_cfg(sweep_cfg)
        runner.test_loop  # builds the loop: loads every variant, checks its arguments
    except (FileNotFoundError, ValueError, TypeError, ImportError, KeyError) as error:
        parser.error(error_message(error))
    runner.test()
    written = []
    for report in ('sweep.md', 'robustness.md'):
        if osp.isfile(osp.join(out_dir, report)):
            with open(osp.join(out_dir, report)) as f:
                print(f.read())
    if args.sigmas:
        written.append('sweep.md, sweep.csv, sweep_*.png, examples_sigma*.png')
    if corruptions:
        written.append('robustness.md/.csv/.json, robustness_*.png, examples_*_severity*.png')
    print(f'written to {out_dir}: ' + '; '.join(written))


if __name__ == '__main__':
    main()
