"""Stage-1 training and the CamVid noise sweep as 1 process, 1 process x 2 threads, 2 processes.

How time and memory grow with the number of CPU processes (mmengine DDP over gloo,
``tools/dist_train.sh`` / ``tools/dist_test.sh``) next to the same cores used as threads:

- **train**: the shipped stage-1 CPU config
  (``configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py``: the paper's net, BSD400 patches,
  bfloat16 autocast) for ``--iters`` iterations of a global batch of ``--batch`` patches (2
  processes: half each, DDP averages the gradients), no validation, the loader in the training
  process (``num_workers=0``). Seconds per iteration: the median of the
  Runner's own per-iteration ``time`` (``vis_data/scalars.json``, ``log_processor.window_size=1``)
  after ``--warmup`` iterations; samples/s = global batch / that.
- **sweep**: ``tools/test.py CONFIG CKPT --cfg-options test_cfg.type=RobustnessTestLoop ...`` on
  the first ``--images`` CamVid val images (``configs/cascade/fastscnn_denoise_camvid_cpu.py``:
  variants noisy, NLM, the checkpoint's denoiser and a second one, ``--sigmas``), with seeded
  random weights (``benchmarks/sweep.py``'s ``random_checkpoints``: speed does not depend on
  them). The loop's time (``before_test`` to ``after_test``) and the whole command's; the tables
  (``sweep.csv``) of every setting are compared with the first setting's.

Each run is a fresh command-line run with ``OMP_NUM_THREADS`` set to the setting's threads and
``benchmarks/run_stats_hook.py`` loaded (``custom_imports``) to record each process's threads,
world size, loop time and peak RSS; a run whose processes did not use the asked threads or
world size is an error. Repeats are interleaved over the settings; medians are printed::

    python benchmarks/processes.py [--parts train sweep] [--settings 1p1t 1p2t 2p1t]
        [--iters 30] [--warmup 5] [--batch 16] [--images 8] [--sigmas 0 30 60] [--repeats 1]
        [--out work_dirs/benchmarks/processes] [--train-options k=v ...] [--sweep-options k=v ...]
"""
import argparse
import json
import os
import os.path as osp
import re
import shlex
import socket
import statistics
import subprocess
import sys
import time
from glob import glob
from typing import Dict, List, NamedTuple, Optional, Sequence

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
HERE = osp.join(REPO, 'benchmarks')
TRAIN_CONFIG = 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'
SWEEP_CONFIG = 'configs/cascade/fastscnn_denoise_camvid_cpu.py'


class Setting(NamedTuple):
    """How many processes, each with how many torch/OpenMP threads."""
    label: str
    processes: int
    threads: int


SETTINGS = {'1p1t': Setting('1 process', 1, 1),
            '1p2t': Setting('1 process x 2 threads', 1, 2),
            '2p1t': Setting('2 processes', 2, 1)}


def machine() -> str:
    """The CPU model (``lscpu``), its core count and whether it has native bfloat16."""
    from mmsemdenoise.utils.device import cpu_has_native_bfloat16
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        model = re.search(r'Model name:\s*(.+)', out).group(1).strip()
    except (OSError, AttributeError):
        import platform
        model = platform.processor() or 'unknown CPU'
    return f'{model}, {os.cpu_count()} cores, native CPU bfloat16: {cpu_has_native_bfloat16()}'


def free_port() -> int:
    """A TCP port nothing listens on now (torchrun's rendezvous)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def with_stats_hook(config: str, out: str) -> str:
    """A config file in ``out`` that is ``config`` plus ``RunStatsHook`` (its path)."""
    from mmengine.config import Config
    base = Config.fromfile(osp.join(REPO, config))
    imports = list((base.get('custom_imports') or {}).get('imports', [])) + ['run_stats_hook']
    hooks = '*_base_.custom_hooks, ' if base.get('custom_hooks') else ''
    path = osp.join(out, 'config_' + osp.basename(config))
    with open(path, 'w') as f:
        f.write(f"_base_ = {osp.join(REPO, config)!r}\n"
                f"custom_imports = dict(imports={imports!r}, allow_failed_imports=False)\n"
                f"custom_hooks = [{hooks}dict(type='RunStatsHook')]\n")
    return path


def command(tool: str, setting: Setting, positional: Sequence[str],
            options: Sequence[str]) -> List[str]:
    """``python tools/<tool>.py POS... OPTIONS`` or ``bash tools/dist_<tool>.sh POS... N
    OPTIONS``."""
    if setting.processes == 1:
        return [sys.executable, f'tools/{tool}.py', *positional, *options]
    return ['bash', f'tools/dist_{tool}.sh', *positional, str(setting.processes), *options]


def run(cmd: List[str], setting: Setting, log: str) -> tuple:
    """Run ``cmd`` in the repository with the setting's threads; (wall seconds, its output).
    The output goes to ``log`` too; a non-zero exit raises with its tail."""
    env = dict(os.environ, OMP_NUM_THREADS=str(setting.threads),
               MKL_NUM_THREADS=str(setting.threads), PYTHON=sys.executable,
               PORT=str(free_port()),
               PYTHONPATH=os.pathsep.join(p for p in (REPO, HERE, os.environ.get('PYTHONPATH'))
                                          if p))
    print(f'$ OMP_NUM_THREADS={setting.threads} {shlex.join(cmd)}', flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    output = done.stdout + done.stderr
    with open(log, 'w') as f:
        f.write(output)
    if done.returncode != 0:
        raise RuntimeError(f'{cmd[1]} exited with {done.returncode} ({log}):\n{output[-4000:]}')
    return wall, output


def run_stats(work_dir: str, setting: Setting, loop: str) -> List[dict]:
    """Each process's ``RunStatsHook`` record, by rank; checks they ran as ``setting`` says."""
    stats = []
    for rank in range(setting.processes):
        path = osp.join(work_dir, f'run_stats_rank{rank}.json')
        if not osp.isfile(path):
            raise RuntimeError(f'{path} missing: RunStatsHook did not run on rank {rank}')
        with open(path) as f:
            stats.append(json.load(f))
    for s in stats:
        if (s['world_size'], s['threads'], s['loop']) != (setting.processes, setting.threads, loop):
            raise RuntimeError(f'{setting.label}: a process ran {s["loop"]} with world size '
                               f'{s["world_size"]} and {s["threads"]} thread(s): {stats}')
    return stats


def iteration_times(work_dir: str, iters: int) -> List[dict]:
    """The Runner's per-iteration scalars (rank 0's ``vis_data/scalars.json``), one per iter."""
    paths = glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    if len(paths) != 1:
        raise RuntimeError(f'expected one scalars.json below {work_dir}, found {paths}')
    with open(paths[0]) as f:
        records = [json.loads(line) for line in f if line.strip()]
    records = [r for r in records if 'time' in r and 'iter' in r]
    if [r['iter'] for r in records] != list(range(1, iters + 1)):
        raise RuntimeError(f'{paths[0]}: expected the time of every iteration 1..{iters}, got '
                           f'{[r["iter"] for r in records]}')
    return records


def rss(stats: List[dict]) -> str:
    return ' / '.join(f'{s["peak_rss_mib"]:.0f}' for s in stats)


def bench_train(args, settings: List[Setting], out: str) -> List[dict]:
    """Every setting's training runs (``--repeats``, interleaved): one row each."""
    config = with_stats_hook(args.train_config, out)
    per = {s: [] for s in settings}
    for repeat in range(args.repeats):
        for setting in settings:
            if args.batch % setting.processes:
                raise ValueError(f'--batch {args.batch} does not split over '
                                 f'{setting.processes} processes')
            work = osp.join(out, f'train_{setting.processes}p{setting.threads}t_{repeat}')
            options = ['--work-dir', work, '--no-validate', '--cfg-options',
                       f'train_cfg.max_iters={args.iters}',
                       f'train_dataloader.batch_size={args.batch // setting.processes}',
                       'train_dataloader.num_workers=0',
                       'train_dataloader.persistent_workers=False',
                       'default_hooks.logger.interval=1', 'log_processor.window_size=1',
                       'default_hooks.checkpoint.save_last=False', *args.train_options]
            wall, _ = run(command('train', setting, [config], options), setting, work + '.log')
            stats = run_stats(work, setting, 'train')
            if stats[0]['iterations'] != args.iters:
                raise RuntimeError(f'{work}: {stats[0]["iterations"]} iterations, not {args.iters}')
            records = iteration_times(work, args.iters)[args.warmup:]
            per[setting].append(dict(
                wall=wall, stats=stats,
                time=statistics.median(r['time'] for r in records),
                data_time=statistics.median(r['data_time'] for r in records)))
    rows = []
    for setting in settings:
        runs = per[setting]
        rows.append(dict(setting=setting, time=statistics.median(r['time'] for r in runs),
                         data_time=statistics.median(r['data_time'] for r in runs),
                         wall=statistics.median(r['wall'] for r in runs),
                         stats=runs[-1]['stats']))
    return rows


def print_train(args, rows: List[dict]) -> None:
    first = rows[0]
    print(f'\n### training: {args.train_config}, {args.iters} iterations of {args.batch} '
          f'patches (median iteration time after {args.warmup}), loader in the training '
          f'process, {args.repeats} repeat(s)\n')
    print('| setting | processes x batch | threads per process | s/iter | data s/iter | '
          'samples/s | speed-up | peak RSS per process (MiB) | wall (s) |')
    print('|---|---|---|---|---|---|---|---|---|')
    for row in rows:
        s = row['setting']
        print(f'| {s.label} | {s.processes} x {args.batch // s.processes} | {s.threads} | '
              f'{row["time"]:.4f} | {row["data_time"]:.4f} | {args.batch / row["time"]:.1f} | '
              f'{first["time"] / row["time"]:.2f}x | {rss(row["stats"])} | {row["wall"]:.1f} |')


def bench_sweep(args, settings: List[Setting], out: str) -> List[dict]:
    """Every setting's sweep runs (``--repeats``, interleaved): one row each, with its table."""
    from mmengine.config import Config, DictAction
    from sweep import largest_difference, random_checkpoints, table
    cfg = Config.fromfile(osp.join(REPO, args.sweep_config))
    if args.sweep_options:
        parsed = argparse.Namespace()
        DictAction(option_strings=[], dest='options')(None, parsed, args.sweep_options)
        cfg.merge_from_dict(parsed.options)
    weights = random_checkpoints(cfg, out)  # the same architecture as the runs build
    config = with_stats_hook(args.sweep_config, out)
    sigmas = '[' + ','.join(f'{s:g}' for s in args.sigmas) + ']'
    per = {s: [] for s in settings}
    for repeat in range(args.repeats):
        for setting in settings:
            name = f'sweep_{setting.processes}p{setting.threads}t_{repeat}'
            work, report = osp.join(out, name), osp.join(out, name, 'report')
            options = ['--work-dir', work, '--cfg-options', 'test_cfg.type=RobustnessTestLoop',
                       f'test_cfg.sigmas={sigmas}',
                       f'test_cfg.variants.other={weights["labelfree"]}',
                       'test_cfg.num_examples=2', f'test_cfg.out_dir={report}',
                       f'test_dataloader.dataset.indices={args.images}',
                       f'test_dataloader.batch_size={args.sweep_batch}',
                       'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
            if args.classical != 'none':
                options.append(f'test_cfg.classical={args.classical}')
            wall, output = run(command('test', setting, [config, weights['joint']],
                                       options + list(args.sweep_options)),
                               setting, work + '.log')
            stats = run_stats(work, setting, 'test')
            split = re.findall(r'images evaluated per process (\[[\d, ]*\]) of (\d+)', output)
            if not split:
                raise RuntimeError(f'{work}.log: the loop did not log its split of the images')
            with open(osp.join(report, 'sweep.csv')) as f:
                text = f.read()
            per[setting].append(dict(wall=wall, stats=stats, split=split[-1], text=text,
                                     rows=table(osp.join(report, 'sweep.csv')),
                                     loop=max(s['loop_seconds'] for s in stats)))
    reference = per[settings[0]][0]
    rows = []
    for setting in settings:
        runs = per[setting]
        same = all(r['text'] == reference['text'] for r in runs)
        diff = max(largest_difference(reference['rows'], r['rows']) for r in runs)
        rows.append(dict(setting=setting, loop=statistics.median(r['loop'] for r in runs),
                         wall=statistics.median(r['wall'] for r in runs), split=runs[0]['split'],
                         stats=runs[-1]['stats'], same=same, diff=diff,
                         variants=[r['variant'] for r in reference['rows']]))
    return rows


def print_sweep(args, rows: List[dict]) -> None:
    first = rows[0]
    variants = list(dict.fromkeys(first['variants']))
    print(f'\n### sweep: {args.sweep_config}, first {args.images} CamVid val images, batch '
          f'{args.sweep_batch}, sigmas {list(args.sigmas)}, variants {", ".join(variants)} '
          f'(random weights), {args.repeats} repeat(s)\n')
    print(f'| setting | processes | threads per process | images per process | loop (s) | '
          f'speed-up | wall (s) | peak RSS per process (MiB) | sweep.csv vs '
          f'{first["setting"].label} |')
    print('|---|---|---|---|---|---|---|---|---|')
    for row in rows:
        s = row['setting']
        versus = 'identical' if row['same'] else f'differs, largest {row["diff"]:.2g}'
        print(f'| {s.label} | {s.processes} | {s.threads} | {row["split"][0]} of '
              f'{row["split"][1]} | {row["loop"]:.1f} | {first["loop"] / row["loop"]:.2f}x | '
              f'{row["wall"]:.1f} | {rss(row["stats"])} | {versus} |')


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--parts', nargs='+', choices=['train', 'sweep'],
                        default=['train', 'sweep'])
    parser.add_argument('--settings', nargs='+', choices=list(SETTINGS), default=list(SETTINGS),
                        help='1p1t: 1 process, 1 thread; 1p2t: 1 process, 2 threads; '
                        '2p1t: 2 processes (gloo DDP), 1 thread each. The first is the reference')
    parser.add_argument('--repeats', type=int, default=1, help='runs per setting, interleaved')
    parser.add_argument('--train-config', default=TRAIN_CONFIG)
    parser.add_argument('--iters', type=int, default=30, help='training iterations per run')
    parser.add_argument('--warmup', type=int, default=5, help='iterations left out of the median')
    parser.add_argument('--batch', type=int, default=16, help='global batch (all processes)')
    parser.add_argument('--train-options', nargs='+', default=[], metavar='K=V',
                        help='more --cfg-options of the training runs')
    parser.add_argument('--sweep-config', default=SWEEP_CONFIG)
    parser.add_argument('--images', type=int, default=8, help='the first N test images')
    parser.add_argument('--sigmas', type=float, nargs='+', default=[0, 30, 60])
    parser.add_argument('--sweep-batch', type=int, default=2, help='test images per batch')
    parser.add_argument('--classical', default='nlm', help="'nlm', 'bm3d' or 'none'")
    parser.add_argument('--sweep-options', nargs='+', default=[], metavar='K=V',
                        help='more --cfg-options of the sweep runs (and of its random weights)')
    parser.add_argument('--out', default='work_dirs/benchmarks/processes')
    args = parser.parse_args(argv)
    if args.warmup >= args.iters:
        parser.error(f'--warmup {args.warmup} leaves no iteration of --iters {args.iters}')
    settings = [SETTINGS[k] for k in args.settings]
    out = osp.abspath(osp.join(args.out, time.strftime('%Y%m%d_%H%M%S')))
    os.makedirs(out)
    print(machine(), flush=True)
    printers = []
    if 'train' in args.parts:
        rows = bench_train(args, settings, out)
        printers.append(lambda: print_train(args, rows))
    if 'sweep' in args.parts:
        sweep_rows = bench_sweep(args, settings, out)
        printers.append(lambda: print_sweep(args, sweep_rows))
    print(f'\n{machine()}; runs in {out}')
    for show in printers:
        show()


if __name__ == '__main__':
    main()
