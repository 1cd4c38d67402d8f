"""Time the stage-1 training loader alone: decoding the file for every patch vs decoding once.

Builds the real stage-1 train dataloader (``Runner.build_dataloader`` on the config's
``train_dataloader``: BSD400, InfiniteSampler, crop 64 + flip + rot90 + PackInputs) four ways:

* ``file``: ``CleanImageFolder`` + mmcv's ``LoadImageFromFile``, mmengine's default
  ``pseudo_collate`` (a list of N tensors): one JPEG decode per patch (the configs before);
* ``file+stack``: the same with ``default_collate`` (one (N, 3, H, W) tensor per batch);
* ``cache``: ``CleanImageFolder(cache_images=True)`` + ``LoadImageFromCache(copy=False)``: each
  image decoded once when the dataset is built, every patch cut from the in-memory copy;
* ``cache+stack``: the cache with ``default_collate`` (configs/_base_/datasets/bsd400_denoise.py);

and prints, in markdown: patches/s with each number of workers (medians of interleaved repeats),
the build time and cache size, the time one process spends per patch in each step, whether
all loaders give the same first batch for the same seed (they must), and the loop's wait for
data (``data_time``) next to a step: an emulated GPU step (the main process sleeps for the step
time measured on an H100, 0.027 s per batch of 64, docs/results.md; a real GPU step also keeps
the main process busy launching kernels) and the real stage-1 step (``model.train_step`` of the
config's model and optimizer wrapper) on this CPU::

    OMP_NUM_THREADS=1 python benchmarks/loader.py
        [--config configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py] [--data-root data/denoise]
        [--batch 16] [--workers 0 1 4] [--batches 40] [--repeats 3]
        [--gpu-step 0.027] [--gpu-batch 64] [--gpu-steps 20] [--cpu-steps 3] [--profile 400]

Figures in docs/benchmarks.md.
"""
import argparse
import copy
import os
import statistics
import subprocess
import time
from typing import Dict, Iterator, List, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.utils.dl_utils import set_multi_processing

import mmsemdenoise  # noqa: F401 (registers datasets, transforms and models)
from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils.device import cpu_has_native_bfloat16

#: The loaders compared: the first transform, the dataset's ``cache_images``, the collate_fn.
VARIANTS = {
    'file': (dict(type='LoadImageFromFile'), False, 'pseudo_collate'),
    'file+stack': (dict(type='LoadImageFromFile'), False, 'default_collate'),
    'cache': (dict(type='LoadImageFromCache', copy=False), True, 'pseudo_collate'),
    'cache+stack': (dict(type='LoadImageFromCache', copy=False), True, 'default_collate'),
}
#: Batches a DataLoader prefetches per worker (PyTorch's default ``prefetch_factor``).
PREFETCH = 2


def loader_cfg(cfg: Config, variant: str, batch: int, workers: int, data_root: str) -> dict:
    """The config's ``train_dataloader`` with the variant's loading, batch size and workers."""
    loader = copy.deepcopy(cfg.train_dataloader.to_dict())
    dataset = loader['dataset']
    if dataset.get('type') != 'CleanImageFolder':
        raise ValueError(f'benchmarks/loader.py: the train dataset must be a CleanImageFolder, '
                         f'got {dataset.get("type")!r}')
    first, cache, collate = VARIANTS[variant]
    if not dataset['pipeline'] or 'LoadImage' not in dataset['pipeline'][0]['type']:
        raise ValueError('benchmarks/loader.py: the train pipeline must start with a loader, '
                         f'got {dataset["pipeline"][:1]}')
    dataset['pipeline'] = [dict(first), *dataset['pipeline'][1:]]
    dataset['cache_images'] = cache
    if data_root:
        dataset['data_root'] = data_root
    loader.update(batch_size=batch, num_workers=workers, persistent_workers=workers > 0,
                  collate_fn=dict(type=collate))
    return loader


def build(cfg: Config, variant: str, batch: int, workers: int, data_root: str):
    """``(DataLoader, its infinite iterator, seconds to build it)``."""
    start = time.perf_counter()
    loader = Runner.build_dataloader(loader_cfg(cfg, variant, batch, workers, data_root), seed=0)
    seconds = time.perf_counter() - start
    return loader, iter(loader), seconds


def drain(iterator: Iterator, workers: int) -> None:
    """Take the batches the workers prefetched while the loader was not timed."""
    for _ in range(PREFETCH * workers + 1):
        next(iterator)


def settle(workers: int, seconds_per_batch: float) -> None:
    """Wait while the workers refill their prefetch queue, so that they do not compete with
    the next loader timed (idle persistent workers cost nothing)."""
    if workers:
        time.sleep(1.5 * PREFETCH * workers * seconds_per_batch + 0.05)


def patches_per_s(iterator: Iterator, workers: int, batches: int, batch: int) -> float:
    """Patches per second over ``batches`` batches, after draining the prefetched ones."""
    drain(iterator, workers)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    seconds = time.perf_counter() - start
    settle(workers, seconds / batches)
    return batches * batch / seconds


def waits_for_data(iterator: Iterator, workers: int, steps: int, step,
                   seconds_per_batch: float = 0.0) -> Dict[str, float]:
    """Mean ``data_time`` (the wait in ``next``) and step time of a loop calling ``step(batch)``;
    then :func:`settle` for a loader that makes a batch in ``seconds_per_batch``."""
    drain(iterator, workers)
    data_times, step_times = [], []
    for _ in range(steps):
        start = time.perf_counter()
        data = next(iterator)
        ready = time.perf_counter()
        step(data)
        data_times.append(ready - start)
        step_times.append(time.perf_counter() - ready)
    settle(workers, seconds_per_batch)
    return dict(data_time=statistics.mean(data_times), step=statistics.mean(step_times))


def profile(loader, samples: int) -> Dict[str, float]:
    """Microseconds per sample in ``get_data_info``, each transform and the collate_fn."""
    dataset = loader.dataset
    transforms = dataset.pipeline.transforms
    names = ['get_data_info'] + [type(t).__name__ for t in transforms] + ['collate_fn']
    totals = dict.fromkeys(names, 0.0)
    rng = np.random.default_rng(0)
    packed = []
    for idx in rng.integers(0, len(dataset), samples):
        start = time.perf_counter()
        results = dataset.get_data_info(int(idx))
        totals['get_data_info'] += time.perf_counter() - start
        for name, transform in zip(names[1:], transforms):
            start = time.perf_counter()
            results = transform(results)
            totals[name] += time.perf_counter() - start
        packed.append(results)
    start = time.perf_counter()
    for i in range(0, len(packed), 16):
        loader.collate_fn(packed[i:i + 16])
    totals['collate_fn'] += time.perf_counter() - start
    return {name: 1e6 * total / samples for name, total in totals.items()}


def same_first_batch(cfg: Config, batch: int, data_root: str) -> bool:
    """Whether all loaders (no workers, same seeds) give the same first batch, pixel for pixel."""
    batches = []
    for variant in VARIANTS:
        _, iterator, _ = build(cfg, variant, batch, 0, data_root)
        np.random.seed(0)  # the pipeline's crops and flips (no workers: the global stream)
        inputs = next(iterator)['inputs']
        batches.append(inputs if isinstance(inputs, torch.Tensor) else torch.stack(inputs))
    return all(torch.equal(batches[0], other) for other in batches[1:])


def private_mib(iterator: Iterator) -> List[int]:
    """Private dirty memory (MiB) of each worker of a DataLoader iterator (Linux; [] elsewhere):
    what a worker copied of the pages it shares with the main process."""
    sizes = []
    for worker in getattr(iterator, '_workers', []):
        try:
            with open(f'/proc/{worker.pid}/smaps_rollup') as smaps:
                kib = next(int(line.split()[1]) for line in smaps
                           if line.startswith('Private_Dirty:'))
        except (OSError, StopIteration):
            return []
        sizes.append(kib // 1024)
    return sizes


def cpu_name() -> str:
    """``lscpu``'s model name, or ``'unknown CPU'``."""
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 'unknown CPU'
    return next((line.split(':', 1)[1].strip() for line in out.splitlines()
                 if line.startswith('Model name')), 'unknown CPU')


def median_range(values: Sequence[float], fmt: str = '{:.0f}') -> str:
    return f'{fmt.format(statistics.median(values))} | {fmt.format(min(values))}-' \
           f'{fmt.format(max(values))}'


def parse_args(argv: Sequence[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default='configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py',
                        help='a stage-1 config whose train_dataloader is a CleanImageFolder')
    parser.add_argument('--data-root', default='',
                        help="the dataset's data_root (default: the config's)")
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 4])
    parser.add_argument('--batches', type=int, default=40, help='timed batches per repeat')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--gpu-step', type=float, default=0.027,
                        help='emulated GPU step, seconds per --gpu-batch (0 leaves it out)')
    parser.add_argument('--gpu-batch', type=int, default=64)
    parser.add_argument('--gpu-steps', type=int, default=20)
    parser.add_argument('--cpu-steps', type=int, default=3,
                        help='real stage-1 steps on this CPU per loader (0 leaves them out)')
    parser.add_argument('--profile', type=int, default=400, help='samples (0 leaves it out)')
    return parser.parse_args(argv)


def main(argv: Sequence[str] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmsemdenoise'))
    mp_cfg = cfg.get('env_cfg', {}).get('mp_cfg', {})
    set_multi_processing(**mp_cfg, distributed=False)  # what the Runner does: fork, cv2 threads
    workers_list = sorted(set(args.workers))
    max_workers = workers_list[-1]
    print(f'Machine: {cpu_name()}, {os.cpu_count()} logical CPUs, native bfloat16: '
          f'{cpu_has_native_bfloat16()}, torch threads: {torch.get_num_threads()}, '
          f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}')
    print(f'Config: {args.config}, batch {args.batch}, {args.repeats} interleaved repeats of '
          f'{args.batches} batches\n')

    loaders, iterators, build_s = {}, {}, {}
    for workers in workers_list:
        for variant in VARIANTS:
            loader, iterator, seconds = build(cfg, variant, args.batch, workers, args.data_root)
            loaders[variant, workers], iterators[variant, workers] = loader, iterator
            build_s.setdefault(variant, seconds)
    rates: Dict[tuple, List[float]] = {key: [] for key in loaders}
    for _ in range(args.repeats):  # interleaved: every loader once per repeat
        for key in loaders:
            rates[key].append(patches_per_s(iterators[key], key[1], args.batches, args.batch))

    print('## Loader alone: patches/s\n')
    print(f'| loader | workers | patches/s (median) | min-max | ms per batch of {args.batch} | '
          'vs file |')
    print('|---|---|---|---|---|---|')
    for workers in workers_list:
        for variant in VARIANTS:
            values = rates[variant, workers]
            ratio = statistics.median(values) / statistics.median(rates['file', workers])
            print(f'| {variant} | {workers} | {median_range(values)} | '
                  f'{1e3 * args.batch / statistics.median(values):.1f} | {ratio:.1f}x |')

    print('\n## Building the dataset\n')
    print('| loader | build (s) | images | decoded images held (MiB) |\n|---|---|---|---|')
    for variant in VARIANTS:
        dataset = loaders[variant, workers_list[0]].dataset
        held = dataset.cache.nbytes / 2**20 if dataset.cache is not None else 0
        print(f'| {variant} | {build_s[variant]:.2f} | {len(dataset)} | {held:.1f} |')

    private = private_mib(iterators['cache+stack', max_workers])
    if private:
        print(f'\nPrivate memory of each cache+stack worker after the timing: {private} MiB '
              '(the cache stays shared copy-on-write when this is far below its size)')

    same = same_first_batch(cfg, args.batch, args.data_root)
    print(f'\nFirst batch of every loader (no workers, same seed) equal pixel for pixel: '
          f'{"yes" if same else "NO"}')

    if args.profile:
        costs = {variant: profile(loaders[variant, workers_list[0]], args.profile)
                 for variant in VARIANTS}
        print(f'\n## Per patch in one process (us, mean of {args.profile} samples)\n')
        print('| step | ' + ' | '.join(VARIANTS) + ' |\n' + '|---' * (len(VARIANTS) + 1) + '|')
        names = list(dict.fromkeys(n for c in costs.values() for n in c))
        for name in names:
            print('| ' + name + ' | ' + ' | '.join(
                f'{costs[v][name]:.0f}' if name in costs[v] else '-' for v in VARIANTS) + ' |')
        print('| total | ' + ' | '.join(f'{sum(costs[v].values()):.0f}' for v in VARIANTS) + ' |')

    rows = []
    if args.gpu_step > 0:
        for variant in VARIANTS:
            loader, iterator, _ = build(cfg, variant, args.gpu_batch, max_workers, args.data_root)
            waited = waits_for_data(iterator, max_workers, args.gpu_steps,
                                    lambda data: time.sleep(args.gpu_step))
            rows.append((f'GPU step emulated (sleep {args.gpu_step} s)', args.gpu_batch, variant,
                         max_workers, waited))
            del loader, iterator
    if args.cpu_steps > 0:
        torch.manual_seed(0)
        model = MODELS.build(cfg.model).train()
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        step = lambda data: model.train_step(data, optim_wrapper)  # noqa: E731
        step(next(iterators['cache', max_workers]))  # warm-up
        for variant in VARIANTS:
            seconds = args.batch / statistics.median(rates[variant, max_workers])
            waited = waits_for_data(iterators[variant, max_workers], max_workers,
                                    args.cpu_steps, step, seconds)
            rows.append((f'{cfg.model.denoiser.type} train_step on this CPU', args.batch,
                         variant, max_workers, waited))
    if rows:
        print('\n## Waiting for data next to a training step (means)\n')
        print('| step | batch | loader | workers | step (s) | data_time (s) | data_time / step |')
        print('|---|---|---|---|---|---|---|')
        for name, batch, variant, workers, waited in rows:
            print(f'| {name} | {batch} | {variant} | {workers} | {waited["step"]:.3f} | '
                  f'{waited["data_time"]:.4f} | {waited["data_time"] / waited["step"]:.2f} |')


if __name__ == '__main__':
    main()
