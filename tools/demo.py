"""A short, real run of the main job on this machine: train the paper's denoiser, then measure it.

1. stage 1: the 3-scale denoiser trains for ``--iters`` iterations on BSD400 patches with
   Gaussian noise (the config of configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py);
2. the same seeded noisy CBSD68 images are scored as they are (no denoiser) and denoised.

Usage:
    python tools/demo.py [--data-root data/denoise] [--iters 300] [--sigma 25] [--num-test 8]
"""
import argparse
import os.path as osp
import time

from mmengine.config import Config
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)

CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', 'configs', 'denoise',
                  'three-scale_bsd400_sigma25_cpu-1h.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/denoise',
                        help='folder with BSD400/ (training) and CBSD68/ (test)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--iters', type=int, default=300, help='training iterations')
    parser.add_argument('--sigma', type=float, default=25, help='noise level, 0-255 scale')
    parser.add_argument('--num-test', type=int, default=8, help='CBSD68 images to score')
    return parser.parse_args()


def demo_config(args: argparse.Namespace) -> Config:
    for folder in ('BSD400', 'CBSD68'):
        if not osp.isdir(osp.join(args.data_root, folder)):
            raise FileNotFoundError(
                f'demo data not found: {osp.join(args.data_root, folder)} (pass --data-root, '
                'or run tools/setup.sh next to ../shared, which links data/denoise)')
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = args.work_dir
    cfg.model.noise.sigma = args.sigma
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = args.iters
    cfg.param_scheduler[0].T_max = args.iters
    cfg.default_hooks.logger.interval = 50
    cfg.default_hooks.checkpoint.interval = args.iters
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = args.data_root
        loader.num_workers, loader.persistent_workers = 0, False
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.indices = args.num_test
    return cfg


def main() -> None:
    args = parse_args()
    cfg = demo_config(args)
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_s = time.time() - start
    denoised = runner.test()

    noisy_cfg = cfg.copy()
    noisy_cfg.model.denoiser = None  # the same seeded noisy images, scored as they are
    noisy_cfg.work_dir = osp.join(args.work_dir, 'noisy_input')
    noisy = Runner.from_cfg(noisy_cfg).test()

    rows = [('noisy input', noisy), (f'3-scale denoiser, {args.iters} iterations', denoised)]
    lines = [f'\nCBSD68, first {args.num_test} images, Gaussian sigma = {args.sigma:g} '
             f'(training took {train_s / 60:.1f} min)',
             '| input | PSNR (dB) | SSIM |', '|---|---|---|']
    lines += [f'| {name} | {m["denoise/psnr"]:.2f} | {m["denoise/ssim"]:.4f} |' for name, m in rows]
    report = '\n'.join(lines)
    print(report)
    with open(osp.join(args.work_dir, 'demo_results.md'), 'w') as f:
        f.write(report + '\n')
    print(f'written: {osp.join(args.work_dir, "demo_results.md")}')


if __name__ == '__main__':
    main()
