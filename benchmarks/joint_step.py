"""Time and peak memory of a joint (stage-2) training step next to the work it is made of.

For each case (a cascade config, its task model's own config, one batch of real CamVid images),
these steps on the same batch, in float32 and under bfloat16 autocast, interleaved, medians:

* ``joint``: the cascade's ``train_step`` with the config's optim wrapper (``cascade_optim_wrapper``:
  ``TrainableParamsOptimWrapperConstructor``; ``AutocastOptimWrapper`` for bfloat16);
* ``stage1``: the same denoiser (same weights) in the same cascade without task model: noise,
  denoiser, MSE, backward, Adam;
* ``task_grad``: the frozen task model's loss on the clean pixels and the backward pass to those
  pixels only (frozen weights, the input requires grad): its share of the joint step;
* ``task_train``: the task model's own training step (its config's optim wrapper, weights trained);
* under bfloat16 also ``joint_alt`` and ``task_grad_alt``: the same with the cascade's
  ``task_float32`` flipped (the frozen task model under autocast or in float32).

The aim of issue #13 is ``joint <= 1.1 x (stage1 + task_grad)``: nothing beyond the inherent work.
A table of checks says whether the frozen model got a weight gradient or optimizer state::

    OMP_NUM_THREADS=1 python benchmarks/joint_step.py [--case fastscnn-camvid deeplabv3-512]
        [--camvid data/CamVid] [--repeats 3] [--profile]

Models are built from the configs with random weights (no checkpoint is loaded: timing does not
depend on the weights); mmseg's SyncBN becomes BN (one process). Peak memory is the largest growth
of live tensor bytes during one step over those live when it starts, as torch's allocator reports
it (profiler memory events on CPU, ``max_memory_allocated`` on CUDA): activations, gradients and
temporaries; persistent state (weights, Adam moments) is listed apart. Memory that oneDNN or
other libraries allocate themselves is not in it.
"""
import argparse
import copy
import json
import os
import os.path as osp
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import OptimWrapper, build_optim_wrapper
from torch.profiler import ProfilerActivity, profile

from mmsemdenoise import register_all_modules
from mmsemdenoise.models.cascade.flow import to_task_batch
from mmsemdenoise.models.denoisers.architecture import carried_architecture
from mmsemdenoise.registry import DATASETS, MODELS
from mmsemdenoise.structures import ImageBatch
from mmsemdenoise.utils.device import cpu_has_native_bfloat16

MB = 2 ** 20
VARIANTS = ('joint', 'joint_alt', 'stage1', 'task_grad', 'task_grad_alt', 'task_train')
LABELS = {
    'joint': 'joint: cascade train_step (the config)',
    'joint_alt': 'joint_alt: same, task_float32 flipped',
    'stage1': 'stage1: same denoiser, no task model',
    'task_grad': 'task_grad: frozen task fwd + input-grad bwd',
    'task_grad_alt': 'task_grad_alt: same, task_float32 flipped',
    'task_train': "task_train: task model's own train step",
}


@dataclass
class Case:
    """One benchmark case: the cascade config, its task model's own config, the batch."""

    cascade: str
    task: str
    size: Tuple[int, int]  # (h, w)
    batch: int


CASES = {
    # the CPU-scale stage 2: 4 crops of 180x240, as in the config's train_dataloader
    'fastscnn-camvid': Case('configs/cascade/fastscnn_denoise_camvid_cpu.py',
                            'configs/task_models/fastscnn_camvid-180x240_cpu.py', (180, 240), 4),
    # the paper's segmentation setting at 512^2; 2 images (DeepLabV3's image-pool BN trains on
    # one value per channel and image, so a training step needs at least 2)
    'deeplabv3-512': Case('configs/cascade/deeplab_denoise_voc.py',
                          'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py',
                          (512, 512), 2),
}


@dataclass
class Step:
    """A step to time: ``run(prepare(batch))``; ``prepare`` is not timed."""

    prepare: Callable[[dict], object]
    run: Callable[[object], None]


SHIPPED_DENOISER = 'mmsemdenoise://three-scale_blind_bsd400'


def _architecture(checkpoint: Optional[str]) -> dict:
    """The denoiser config ``checkpoint`` carries, or the shipped blind denoiser's when the
    file (a stage-1 work dir) is not there."""
    try:
        found = carried_architecture(checkpoint) if checkpoint else None
    except FileNotFoundError:
        found = None
    return found or carried_architecture(SHIPPED_DENOISER)


def load_config(path: str) -> Config:
    """A config file, or a ``pkg::`` name of an installed OpenMMLab package."""
    if '::' in path and not osp.exists(path):
        from mmengine.hub import get_config
        return get_config(path)
    return Config.fromfile(path)


def camvid_batch(root: str, size: Tuple[int, int], n: int) -> dict:
    """The first ``n`` CamVid training images resized to ``size`` (h, w), as the dataloader
    hands them to a model: ``inputs`` n uint8 (3, h, w) BGR, ``data_samples`` with labels."""
    h, w = size
    dataset = DATASETS.build(dict(
        type='CamVidDataset', data_root=root, verify='off',
        data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='mmseg.LoadAnnotations'),
                  dict(type='Resize', scale=(w, h), keep_ratio=False),
                  dict(type='mmseg.PackSegInputs')]))
    if len(dataset) == 0:
        raise ValueError(f'no CamVid training images below {root}/train')
    return pseudo_collate([dataset[i % len(dataset)] for i in range(n)])


def optim_cfg(cfg: dict, bfloat16: bool) -> dict:
    """An optim wrapper config in float32 (``AutocastOptimWrapper`` becomes
    ``FiniteCheckOptimWrapper``, the same checks without the cast) or under bfloat16 autocast
    (the type becomes ``AutocastOptimWrapper``)."""
    cfg = copy.deepcopy(dict(cfg))
    if bfloat16:  # no float32 fallback on a CPU without native bfloat16: a bfloat16 row is
        cfg['type'] = 'AutocastOptimWrapper'  # bfloat16, like the task_grad step beside it
        cfg['cpu_fallback'] = False
    elif cfg.get('type') == 'AutocastOptimWrapper':
        cfg['type'] = 'FiniteCheckOptimWrapper'
    return cfg


def train_step(model: torch.nn.Module, wrapper: OptimWrapper) -> Step:
    """mmengine's ``model.train_step`` on a fresh copy of the batch."""
    return Step(copy.deepcopy, lambda data: model.train_step(data, wrapper))


def task_grad_step(cascade: torch.nn.Module, bfloat16: bool, task_float32: bool) -> Step:
    """The frozen task model's loss on the clean pixels (N, 3, H, W) in [0, 1] (a leaf that
    requires grad, as the denoiser output would), back-propagated to them only; under
    bfloat16 autocast unless ``task_float32`` (as :class:`DenoisingCascade` runs it)."""
    task = cascade.task_model
    bfloat16 = bfloat16 and not task_float32

    def prepare(data: dict) -> dict:
        data = cascade.data_preprocessor(copy.deepcopy(data), True)
        return dict(pixels=data['inputs'].detach().requires_grad_(),
                    data_samples=data['data_samples'])

    def run(state: dict) -> None:
        device = state['pixels'].device.type
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bfloat16):
            batch = to_task_batch(task.data_preprocessor, cascade.data_preprocessor,
                                  ImageBatch.of(state['pixels']), state['data_samples'],
                                  training=True)
            loss, _ = task.parse_losses(task.loss(batch['inputs'], batch['data_samples']))
        loss.backward()
        if state['pixels'].grad is None:
            raise RuntimeError('task_grad: no gradient reached the input')

    return Step(prepare, run)


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def seconds(step: Step, batch: dict, device: torch.device) -> float:
    """Wall time of one ``step.run`` (preparation excluded)."""
    state = step.prepare(batch)
    _sync(device)
    start = time.perf_counter()
    step.run(state)
    _sync(device)
    return time.perf_counter() - start


def peak_bytes(step: Step, batch: dict, device: torch.device) -> int:
    """Largest growth of live tensor bytes during one ``step.run`` over those live at its start
    (CPU: the allocator's events recorded by the profiler; CUDA: ``max_memory_allocated``)."""
    state = step.prepare(batch)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step.run(state)
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step.run(state)
    with tempfile.TemporaryDirectory() as folder:
        path = osp.join(folder, 'trace.json')
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = [e for e in json.load(f)['traceEvents'] if e.get('name') == '[memory]'
                      and e['args'].get('Device Type', 0) == 0]
    live = peak = 0
    for event in sorted(events, key=lambda e: (e['ts'], e['args'].get('Ev Idx', 0))):
        live += event['args']['Bytes']
        peak = max(peak, live)
    return peak


def top_ops(step: Step, batch: dict, rows: int = 12) -> str:
    """The profiler's table of the ops with the most self time in one step."""
    state = step.prepare(batch)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step.run(state)
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows)


def state_bytes(wrapper: OptimWrapper) -> int:
    """Bytes of the optimizer's state tensors (Adam's moments, SGD's momentum)."""
    return sum(v.numel() * v.element_size() for s in wrapper.optimizer.state.values()
               for v in s.values() if isinstance(v, torch.Tensor))


def frozen_checks(cascade: torch.nn.Module, wrapper: OptimWrapper) -> Dict[str, str]:
    """Waste checks after a joint step: weight gradients or optimizer state of the frozen model."""
    frozen = list(cascade.task_model.parameters())
    frozen_ids = {id(p) for p in frozen}
    in_optimizer = [p for g in wrapper.optimizer.param_groups for p in g['params']]
    denoiser = list(cascade.denoiser.parameters())
    return {
        'frozen task parameters with requires_grad':
            f'{sum(p.requires_grad for p in frozen)} of {len(frozen)}',
        'frozen task parameters with .grad after the joint step':
            f'{sum(p.grad is not None for p in frozen)} of {len(frozen)}',
        'frozen task parameters in the optimizer':
            f'{sum(id(p) in frozen_ids for p in in_optimizer)} (it holds {len(in_optimizer)})',
        'frozen task parameters with optimizer state':
            f'{sum(id(p) in frozen_ids for p in wrapper.optimizer.state)}',
        'denoiser parameters with optimizer state':
            f'{sum(p in wrapper.optimizer.state for p in denoiser)} of {len(denoiser)}',
        'task model in eval mode after the joint step':
            str(not any(m.training for m in cascade.task_model.modules())),
    }


def build(case: Case, camvid: str, size: Tuple[int, int], batch_size: int,
          dtypes: Sequence[str], device: torch.device) -> Tuple[dict, Dict[Tuple[str, str], Step],
                                                                dict]:
    """The batch, the steps of every variant and dtype, and the objects the checks look at."""
    cfg = load_config(case.cascade)
    task_cfg = load_config(case.task)
    model_cfg = copy.deepcopy(cfg.model)
    # the denoiser's architecture: the config's, else the one its checkpoint carries, else (the
    # stage-1 run is absent) the paper's net as shipped; then random weights
    model_cfg.denoiser = model_cfg.get('denoiser') or _architecture(model_cfg.denoiser_checkpoint)
    model_cfg.update(denoiser_checkpoint=None, task_checkpoint=None)
    task_dp = model_cfg.task_model.get('data_preprocessor') or {}
    if task_dp.get('size'):  # the task model pads to its crop size: to the images' size here
        task_dp['size'] = size
    task_float32 = bool(model_cfg.get('task_float32', False))
    torch.manual_seed(0)
    # each from its own copy: mmseg's EncoderDecoder writes `pretrained` into its config
    joint = revert_sync_batchnorm(MODELS.build(copy.deepcopy(model_cfg))).to(device).train()
    stage1 = MODELS.build(dict(copy.deepcopy(model_cfg), task_model=None)).to(device).train()
    stage1.denoiser.load_state_dict(joint.denoiser.state_dict())
    task = revert_sync_batchnorm(MODELS.build(copy.deepcopy(model_cfg.task_model)))
    task = task.to(device).train()
    steps, wrappers = {}, {}
    for dtype in dtypes:
        bf16 = dtype == 'bfloat16'
        wrappers['joint', dtype] = build_optim_wrapper(joint, optim_cfg(cfg.optim_wrapper, bf16))
        wrappers['stage1', dtype] = build_optim_wrapper(stage1,
                                                        optim_cfg(cfg.optim_wrapper, bf16))
        wrappers['task_train', dtype] = build_optim_wrapper(
            task, optim_cfg(task_cfg.optim_wrapper, bf16))
        steps['joint', dtype] = train_step(joint, wrappers['joint', dtype])
        if bf16:  # the frozen task model in the other precision than the config's
            alt = MODELS.build(dict(copy.deepcopy(model_cfg), task_float32=not task_float32))
            alt = revert_sync_batchnorm(alt).to(device).train()
            alt.load_state_dict(joint.state_dict())
            wrappers['joint_alt', dtype] = build_optim_wrapper(alt,
                                                               optim_cfg(cfg.optim_wrapper, True))
            steps['joint_alt', dtype] = train_step(alt, wrappers['joint_alt', dtype])
            steps['task_grad_alt', dtype] = task_grad_step(joint, True, not task_float32)
        steps['stage1', dtype] = train_step(stage1, wrappers['stage1', dtype])
        steps['task_grad', dtype] = task_grad_step(joint, bf16, task_float32)
        steps['task_train', dtype] = train_step(task, wrappers['task_train', dtype])
    batch = camvid_batch(camvid, size, batch_size)
    return batch, steps, dict(joint=joint, wrappers=wrappers, task_float32=task_float32)


def _mb(value: int) -> str:
    return f'{value / MB:.0f}' if value else '-'


def _ratio(value: int, reference: int) -> str:
    return f'{value / reference:.2f}' if reference else '-'


def _cell(values: List[float]) -> str:
    return f'{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})'


def run_case(name: str, case: Case, args: argparse.Namespace, dtypes: Sequence[str],
             device: torch.device) -> dict:
    """Time, measure and check one case; print its tables; return the figures."""
    size = tuple(args.size) if args.size else case.size
    batch_size = args.batch or case.batch
    batch, steps, objects = build(case, args.camvid, size, batch_size, dtypes, device)
    print(f'\n(built {name}; timing {len(steps)} steps x {args.repeats + 1 + args.memory})',
          flush=True)
    for key, step in steps.items():  # warm-up: oneDNN primitives, Adam state, autocast paths
        seconds(step, batch, device)
    times = {key: [] for key in steps}
    for _ in range(args.repeats):  # interleaved
        for key, step in steps.items():
            times[key].append(seconds(step, batch, device))
    checks = frozen_checks(objects['joint'], objects['wrappers']['joint', dtypes[0]])
    peaks = {key: peak_bytes(step, batch, device) if args.memory else 0
             for key, step in steps.items()}

    med = {key: statistics.median(values) for key, values in times.items()}
    print(f'\n### {name}: {case.cascade} (task_float32={objects["task_float32"]}), '
          f'{batch_size} x {size[0]}x{size[1]}, {args.repeats} interleaved repeats\n')
    head = ' | '.join(f'{d} (s) median (min-max)' for d in dtypes)
    mem_head = ' | '.join(f'peak {d} (MB)' for d in dtypes)
    print(f'| step | {head} | {mem_head} |')
    print('|---' * (1 + 2 * len(dtypes)) + '|')
    for variant in VARIANTS:
        cells = [_cell(times[variant, d]) if (variant, d) in times else '-' for d in dtypes]
        mems = [_mb(peaks.get((variant, d), 0)) for d in dtypes]
        print(f'| {LABELS[variant]} | {" | ".join(cells)} | {" | ".join(mems)} |')
    inherent = {d: med['stage1', d] + med['task_grad', d] for d in dtypes}
    ratio = {d: med['joint', d] / inherent[d] for d in dtypes}
    mem_inherent = {d: peaks['stage1', d] + peaks['task_grad', d] for d in dtypes}
    rows = [
        ('stage1 + task_grad', [f'{inherent[d]:.3f}' for d in dtypes],
         [_mb(mem_inherent[d]) for d in dtypes]),
        ('**joint / (stage1 + task_grad)** (aim <= 1.1)', [f'**{ratio[d]:.3f}**' for d in dtypes],
         [_ratio(peaks['joint', d], mem_inherent[d]) for d in dtypes]),
        ('joint / task_train', [f'{med["joint", d] / med["task_train", d]:.2f}' for d in dtypes],
         [_ratio(peaks['joint', d], peaks['task_train', d]) for d in dtypes]),
    ]
    if ('joint_alt', 'bfloat16') in med:
        alt = med['joint_alt', 'bfloat16'] / (med['stage1', 'bfloat16'] +
                                              med['task_grad_alt', 'bfloat16'])
        rows.append(('joint_alt / (stage1 + task_grad_alt)',
                     ['' if d == 'float32' else f'{alt:.3f}' for d in dtypes],
                     ['' for _ in dtypes]))
    if len(dtypes) == 2:
        rows.append(('joint bfloat16 / float32',
                     [f'{med["joint", dtypes[1]] / med["joint", dtypes[0]]:.2f}', ''],
                     [_ratio(peaks['joint', dtypes[1]], peaks['joint', dtypes[0]]), '']))
    for label, cells, mems in rows:
        print(f'| {label} | {" | ".join(cells)} | {" | ".join(mems)} |')

    wrappers = objects['wrappers']
    print('\n| persistent state | MB |\n|---|---|')
    joint = objects['joint']
    params = {'denoiser weights': joint.denoiser.parameters(),
              'frozen task weights': joint.task_model.parameters()}
    for label, ps in params.items():
        print(f'| {label} | {sum(p.numel() * p.element_size() for p in ps) / MB:.1f} |')
    for variant in ('joint', 'stage1', 'task_train'):
        print(f'| optimizer state, {variant} ({dtypes[0]}) | '
              f'{state_bytes(wrappers[variant, dtypes[0]]) / MB:.1f} |')
    print('\n| check (after the joint steps) | result |\n|---|---|')
    for label, value in checks.items():
        print(f'| {label} | {value} |')
    if args.profile:
        for dtype in dtypes:
            print(f'\nTop ops of one joint step, {dtype}:\n')
            print(top_ops(steps['joint', dtype], batch))
    return dict(times=times, peaks=peaks, ratio=ratio, checks=checks)


def machine_line(device: torch.device) -> str:
    """The CPU (or GPU) model, threads and whether the CPU has native bfloat16."""
    model = 'unknown CPU'
    if osp.exists('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            names = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
        model = names[0] if names else model
    if device.type == 'cuda':
        model = f'{torch.cuda.get_device_name(device)} (host: {model})'
    return (f'{model}, {torch.get_num_threads()} thread(s), torch {torch.__version__}, '
            f'native bfloat16: {cpu_has_native_bfloat16()}')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--case', nargs='+', choices=sorted(CASES), default=list(CASES))
    parser.add_argument('--camvid', default='data/CamVid', help='CamVid root (SegNet layout)')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'),
                        help="image size instead of the case's")
    parser.add_argument('--batch', type=int, help="batch size instead of the case's")
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dtypes', nargs='+', choices=('float32', 'bfloat16'),
                        help='default: float32, and bfloat16 where the device has it natively')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--no-memory', dest='memory', action='store_false',
                        help='skip the (profiled) peak-memory step of each variant')
    parser.add_argument('--profile', action='store_true',
                        help='also print the top ops of one joint step')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    register_all_modules()
    dtypes = args.dtypes
    if dtypes is None:
        native = device.type == 'cuda' or cpu_has_native_bfloat16()
        dtypes = ['float32', 'bfloat16'] if native else ['float32']
    print(f'Machine: {machine_line(device)}; OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}')
    return {name: run_case(name, CASES[name], args, dtypes, device) for name in args.case}


if __name__ == '__main__':
    main()
