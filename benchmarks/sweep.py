"""Time the CamVid noise sweep: float32 vs the learned denoisers under bfloat16 autocast.

The sweep of docs/results.md: CamVid val, sigmas 0/15/30/45/60, the variants ``noisy``, ``nlm``
and three learned denoisers (``stage1``, ``joint``, ``labelfree``) in front of a frozen
Fast-SCNN, through ``tools/analysis/noise_sweep.py``'s set-up (``prepare_config``) and mmengine's
Runner. Speed does not depend on the weights, so by default the task model and the ``joint`` /
``labelfree`` denoisers are seeded random initialisations of the config's architectures (the
denoiser's: the config's ``model.denoiser`` if it declares one, else the shipped blind denoiser's;
saved with it as ``meta['model_cfg']``) and ``stage1`` is the shipped blind denoiser (pass ``--task-checkpoint`` / ``--variant`` for trained
ones). Modes: ``single`` (the loop: one pass over the images, each batch's noisy images and
clean predictions made once by ``DenoisingCascade.predict_settings``), ``single-bf16`` (also the
learned denoisers under bfloat16 autocast). Prints each mode's wall time and the largest
difference of any table value from the first mode's table. Run it on two commits to compare
loops (docs/benchmarks.md)::

    python benchmarks/sweep.py [--num-images 101] [--modes single single-bf16]
        [--threads 2] [--batch-size 4] [--out work_dirs/benchmarks/sweep]
"""
import argparse
import csv
import math
import os
import os.path as osp
import time
from typing import Dict, List

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (registers the modules)
from mmsemdenoise.engine import parse_variants, prepare_config
from mmsemdenoise.models.denoisers.architecture import carried_architecture
from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils.device import cpu_has_native_bfloat16

CONFIG = 'configs/cascade/fastscnn_denoise_camvid_cpu.py'
SHIPPED = 'mmsemdenoise://three-scale_blind_bsd400'
MODES = {'single': dict(), 'single-bf16': dict(inference_dtype='bfloat16')}


def random_checkpoints(cfg: Config, out: str) -> Dict[str, str]:
    """Seeded random task model and two denoisers of the config's architectures, saved (the
    denoisers with their architecture, ``meta['model_cfg']``)."""
    init_default_scope('mmsemdenoise')
    declared = cfg.model.get('denoiser')
    denoiser = ({k: v for k, v in declared.items() if k != 'init_cfg'} if declared
                else carried_architecture(SHIPPED))
    paths = {}
    for name, seed in (('task', 0), ('joint', 1), ('labelfree', 2)):
        torch.manual_seed(seed)
        model = MODELS.build(dict(cfg.model, denoiser=denoiser, denoiser_checkpoint=None,
                                  task_checkpoint=None))
        paths[name] = osp.join(out, f'random_{name}.pth')
        state = model.task_model.state_dict() if name == 'task' else model.state_dict()
        meta = {} if name == 'task' else {'model_cfg': denoiser}
        torch.save({'state_dict': state, 'meta': meta}, paths[name])
    return paths


def table(path: str) -> List[dict]:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def largest_difference(a: List[dict], b: List[dict]) -> float:
    """Largest |a - b| over the numeric cells of two sweep tables of the same rows."""
    assert [(r['variant'], r['sigma']) for r in a] == [(r['variant'], r['sigma']) for r in b]
    worst = 0.0
    for ra, rb in zip(a, b):
        for key in ra:
            if key in ('variant', 'sigma'):
                continue
            x, y = float(ra[key]), float(rb[key])
            if not (math.isinf(x) and x == y):
                worst = max(worst, abs(x - y))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--num-images', type=int, help='the first N val images (default: all)')
    parser.add_argument('--sigmas', type=float, nargs='+', default=[0, 15, 30, 45, 60])
    parser.add_argument('--modes', nargs='+', choices=list(MODES), default=list(MODES))
    parser.add_argument('--threads', type=int, default=2, help='torch threads')
    parser.add_argument('--batch-size', type=int, default=4, help='test images per batch')
    parser.add_argument('--classical', default='nlm')
    parser.add_argument('--task-checkpoint', help='default: a seeded random Fast-SCNN')
    parser.add_argument('--variant', action='append', metavar='NAME=CKPT',
                        help='default: stage1=<shipped blind>, joint/labelfree=random')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='e.g. model.denoiser.type=ThreeScaleDenoiser '
                        'model.denoiser.base_channels=8 (for a quick check)')
    parser.add_argument('--out', default='work_dirs/benchmarks/sweep')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.merge_from_dict({'test_dataloader.batch_size': args.batch_size,
                         'test_dataloader.num_workers': 0,
                         'test_dataloader.persistent_workers': False})
    made = random_checkpoints(cfg, args.out)
    # each built with its own architecture, whatever --cfg-options say
    variants = parse_variants(args.variant) if args.variant else {
        'stage1': SHIPPED, 'joint': made['joint'], 'labelfree': made['labelfree']}
    n_images = args.num_images or 'all'
    print(f'{torch.get_num_threads()} torch thread(s), native CPU bfloat16: '
          f'{cpu_has_native_bfloat16()}; {args.config}, {n_images} val images, batch '
          f'{args.batch_size}, sigmas {args.sigmas}, variants noisy, {args.classical}, '
          + ', '.join(variants))
    times, tables = {}, {}
    for mode in args.modes:
        out_dir = osp.join(args.out, mode)
        sweep = prepare_config(cfg, out_dir, args.task_checkpoint or made['task'],
                               args.num_images, sigmas=args.sigmas, variants=variants,
                               classical=args.classical, num_examples=3)
        sweep.test_cfg.update(MODES[mode])
        sweep.experiment_name = f'sweep_{mode}_{time.time_ns()}'
        runner = Runner.from_cfg(sweep)
        start = time.perf_counter()
        runner.test()
        times[mode] = time.perf_counter() - start
        tables[mode] = table(osp.join(out_dir, 'sweep.csv'))
        print(f'{mode}: {times[mode] / 60:.2f} min', flush=True)
    first = args.modes[0]
    print(f'\n| mode | wall time (min) | speed-up vs {first} | largest table difference vs '
          f'{first} |\n|---|---|---|---|')
    for mode in args.modes:
        print(f'| {mode} | {times[mode] / 60:.2f} | {times[first] / times[mode]:.2f}x | '
              f'{largest_difference(tables[first], tables[mode]):.4f} |')


if __name__ == '__main__':
    main()
