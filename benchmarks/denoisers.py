"""Inference speed of the paper's net against DnCNN, FFDNet, NLM and CBM3D, next to this machine's limit.

One run prints markdown tables of: images/s and megapixels/s per method, size and mode (medians of
interleaved repeats: every method and mode runs once per repeat, so machine load hits all alike);
MACs per pixel counted with forward hooks on Conv2d / ConvTranspose2d / Linear (on the meta device,
so the count costs no compute); the conv and GEMM limits of this machine measured in the same loop,
same dtype and thread count, and each net's achieved MAC/s as a fraction of the conv limit; the
paper's net vs DnCNN and the issue's aims; time and peak memory against image size (a fit); tiled
against whole-image inference; and saves the quality-speed plot (PSNR on CBSD68 sigma 25 vs
megapixels/s) as ``quality_speed.png`` under ``--out``::

    OMP_NUM_THREADS=1 python benchmarks/denoisers.py [--sizes 256 512 1024] [--repeats 3]
        [--methods three-scale dncnn ffdnet nlm cbm3d] [--modes fp32 channels-last bf16]
        [--classical-sizes 256] [--bf16-sizes ...] [--compile] [--psnr-images 68]
        [--no-memory] [--tile-size 1024] [--no-fuse-conv-bn]
        [--out work_dirs/benchmarks/denoisers]

Modes (CPU): ``fp32``; ``channels-last`` (fp32, model and input in channels-last); ``bf16``
(``torch.autocast('cpu', bfloat16)`` + channels-last). ``--compile`` adds ``compile-fp32`` and
``compile-bf16`` (``torch.compile`` of the model, inductor ``freezing`` on: weights become
constants, prepacked for oneDNN, as for inference). With CUDA, ``cuda-fp32`` and ``cuda-bf16``
rows are added (the device is named). Weights do not matter for speed: the nets are built from the
registry with their official architectures (DnCNN: 20-layer colour, FFDNet: colour, 12 x 96,
batch norm folded as in the released weights), batch 1; the paper's net has its batch norms
folded into the convolutions as ``tools/denoise.py`` runs it (``fuse_batch_norms``;
``--no-fuse-conv-bn``: as trained), and ``three-scale-bn`` is the same net as trained, in the
same loop (what folding buys). NLM and CBM3D (``ClassicalDenoiser``)
run on the CPU in float64 numpy, once per image, in the ``fp32`` rows only and by default only at
256^2 (CBM3D takes seconds per image); they are skipped with the reason when their package is
missing. On a CPU without native bfloat16 (``torch.ops.mkldnn._is_mkldnn_bf16_supported()``
False, e.g. an AVX2 EPYC) oneDNN emulates bfloat16, several times slower than float32: the
output says so, and ``bf16`` then runs only at the smallest size unless ``--bf16-sizes`` says
otherwise.

Peak memory: each (method, size) runs one fp32 forward in a subprocess that reads
the peak resident set (``VmHWM`` of ``/proc/self/status``, the figure ``ru_maxrss`` reports,
reset through ``/proc/self/clear_refs`` once model and input are built) and its growth over the
resident set just before the forward. PSNRs: the nets' figures measured in this repo with
their trained weights (table ``PSNR_CBSD68_SIGMA25``, source named); classical methods without
such a figure (NLM) are measured here on the first ``--psnr-images`` CBSD68 photos.
"""
import argparse
import contextlib
import copy
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

import mmsemdenoise  # noqa: F401 (registers the denoisers)
from mmsemdenoise.apis import fuse_batch_norms
from mmsemdenoise.apis.denoise_files import DEFAULT_OVERLAP, DEFAULT_TILE
from mmsemdenoise.apis.inference import default_tile_batch, tile_spans, tiled_apply
from mmsemdenoise.models.denoisers.classical import METHODS as CLASSICAL_METHODS
from mmsemdenoise.registry import MODELS

#: Benchmark name -> denoiser config (official architectures; weights are random).
METHODS: Dict[str, dict] = {
    'three-scale': dict(type='ThreeScaleDenoiser'),
    'three-scale-bn': dict(type='ThreeScaleDenoiser'),  # batch norms kept, as trained
    'dncnn': dict(type='DnCNN', in_channels=3, channels=64, num_layers=20, bn=False),
    'ffdnet': dict(type='FFDNet', in_channels=3, channels=96, num_layers=12, bn=False),
    'nlm': dict(type='ClassicalDenoiser', method='nlm'),
    'cbm3d': dict(type='ClassicalDenoiser', method='bm3d'),
}
CLASSICAL = ('nlm', 'cbm3d')
#: Built as trained: their batch norms are never folded.
KEEP_BN = ('three-scale-bn',)
#: PSNR (dB) on CBSD68 at sigma 25 measured in this repo with trained weights, and where.
PSNR_CBSD68_SIGMA25: Dict[str, Tuple[float, str]] = {
    'three-scale': (30.79, 'configs/denoise/metafile.yml, shipped three-scale_blind_bsd400 '
                    '(the sigma-25 1-h CPU config: 31.15, docs/results.md)'),
    'dncnn': (31.31, 'docs/results.md, CDnCNN sigma 25 (official weights)'),
    'ffdnet': (31.20, 'docs/results.md, FFDNet colour (official weights, sigma map 25)'),
    'cbm3d': (30.80, 'docs/results.md, CBM3D (bm3d 4.0.3, same protocol)'),
}
SIGMA = 25 / 255
#: The shapes of the machine's limit: the 64 -> 64 3x3 conv that dominates these nets, a GEMM.
CONV_LIMIT = (64, 256)  # channels, side of the table's label
CONV_LIMIT_SIDES = (256, 512)  # the conv limit is the faster of these
GEMM_LIMIT = 1024  # M = N = K
LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def count_macs(model: nn.Module, size: int, noise_level: bool) -> int:
    """Multiply-accumulates of one forward on a (1, 3, size, size) image, counted by hooks.

    Conv2d: ``out.numel() * C_in / groups * kh * kw``; ConvTranspose2d (every input value is
    scattered through the kernel): ``in.numel() * C_out / groups * kh * kw``; Linear:
    ``out.numel() * in_features``. Runs on the meta device (shapes only).
    """
    meta = copy.deepcopy(model).to('meta')
    total = [0]

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            k = module.in_channels // module.groups * math.prod(module.kernel_size)
            total[0] += output.numel() * k
        elif isinstance(module, nn.ConvTranspose2d):
            k = module.out_channels // module.groups * math.prod(module.kernel_size)
            total[0] += inputs[0].numel() * k
        else:
            total[0] += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in meta.modules() if isinstance(m, LAYERS)]
    x = torch.empty(1, 3, size, size, device='meta')
    with torch.no_grad():
        meta(x, torch.full((1,), SIGMA, device='meta') if noise_level else None)
    for handle in handles:
        handle.remove()
    return total[0]


def cpu_bf16_native() -> bool:
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def mode_settings(mode: str) -> Tuple[str, Optional[torch.dtype], bool, bool]:
    """(device, autocast dtype or None, channels-last, compiled) of a mode name."""
    device = 'cuda' if mode.startswith('cuda') else 'cpu'
    dtype = torch.bfloat16 if mode.endswith('bf16') else None
    channels_last = device == 'cpu' and (mode == 'channels-last' or dtype is not None)
    return device, dtype, channels_last, mode.startswith('compile')


class Runner:
    """One (method, mode): a timed forward on a prepared input of each size."""

    def __init__(self, method: str, mode: str, fuse_bn: bool = True) -> None:
        self.method, self.mode = method, mode
        self.device, self.dtype, self.channels_last, compiled = mode_settings(mode)
        model = MODELS.build(METHODS[method]).eval()
        if fuse_bn and method not in CLASSICAL + KEEP_BN:
            fuse_batch_norms(model)
        self.needs_sigma = method == 'ffdnet' or method in CLASSICAL
        if method not in CLASSICAL:
            model = model.to(self.device)
            if self.channels_last:
                model = model.to(memory_format=torch.channels_last)
        self.model = model
        # one graph per size: inductor's dynamic-shape path fails on the 3-scale net's padding
        # (torch 2.13: ValueRangeError in pow_by_natural at the second size)
        if compiled:  # inference graphs: weights folded in as constants, prepacked for oneDNN
            import torch._inductor.config as inductor_config
            inductor_config.freezing = True
        self.fn = torch.compile(model, dynamic=False) if compiled else model
        self.inputs: Dict[int, tuple] = {}

    def prepare(self, size: int) -> None:
        gen = torch.Generator().manual_seed(size)
        x = torch.rand(1, 3, size, size, generator=gen).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        sigma = torch.full((1,), SIGMA, device=self.device) if self.needs_sigma else None
        self.inputs = {size: (x, sigma)}

    def forward(self, size: int) -> torch.Tensor:
        x, sigma = self.inputs[size]
        with self.context():
            return self.fn(x, sigma)

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """No gradients, and autocast to the mode's dtype (off for float32 modes)."""
        with torch.no_grad(), torch.autocast(self.device, dtype=self.dtype or torch.bfloat16,
                                             enabled=self.dtype is not None):
            yield

    def time(self, size: int) -> float:
        sync()
        start = time.perf_counter()
        self.forward(size)
        sync()
        return time.perf_counter() - start


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def limit_fns(mode: str) -> Dict[str, Tuple[Callable[[], object], int]]:
    """The convs and GEMM of the machine's limit in a mode: name -> (call, MACs).

    The convs run in the mode's dtype itself (bfloat16 weights and input for ``bf16``, as the
    activations inside a net under autocast are), on two sides: a single layer with float32 in
    and out pays casts a net pays once, and was beaten by whole nets."""
    device, dtype, channels_last, _ = mode_settings(mode)
    c = CONV_LIMIT[0]
    fns = {}
    for side in CONV_LIMIT_SIDES:
        conv = nn.Conv2d(c, c, 3, padding=1, bias=False).to(device, dtype or torch.float32)
        x = torch.rand(1, c, side, side, device=device, dtype=dtype or torch.float32)
        if channels_last:
            conv = conv.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)

        def run_conv(conv=conv, x=x) -> None:
            with torch.no_grad():
                conv(x)

        fns[f'conv{side}'] = (run_conv, c * c * 9 * side * side)
    a = torch.rand(GEMM_LIMIT, GEMM_LIMIT, device=device, dtype=dtype or torch.float32)
    b = torch.rand(GEMM_LIMIT, GEMM_LIMIT, device=device, dtype=dtype or torch.float32)
    fns['gemm'] = (lambda: a @ b, GEMM_LIMIT**3)
    return fns


def timed(fn: Callable[[], object]) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def vm_kib(key: str) -> int:
    """A ``/proc/self/status`` figure in KiB (VmRSS: resident set now, VmHWM: its peak)."""
    with open('/proc/self/status') as f:
        return int(next(line.split()[1] for line in f if line.startswith(key + ':')))


def memory_child(method: str, size: int) -> None:
    """In a subprocess: print JSON with the peak RSS growth (MiB) of one fp32 forward."""
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', torch.get_num_threads())))
    runner = Runner(method, 'fp32')
    runner.prepare(size)
    with open('/proc/self/clear_refs', 'w') as f:  # reset the peak RSS (VmHWM) to the RSS now
        f.write('5')
    before = vm_kib('VmRSS') / 1024
    runner.forward(size)
    peak = vm_kib('VmHWM') / 1024
    print(json.dumps(dict(peak_mib=peak, growth_mib=peak - before)))


def measure_memory(method: str, size: int) -> Optional[dict]:
    cmd = [sys.executable, __file__, '--_memory-child', method, str(size)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        print(f'memory of {method} at {size}^2 failed: {done.stderr.strip()[-300:]}')
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def classical_psnr(method: str, num_images: int) -> Optional[Tuple[float, str]]:
    """Mean PSNR (RGB, 0-255, prediction rounded) on the first CBSD68 photos at sigma 25: noise
    seeded by the file name as the cascade's test noise draws it (base seed 0, not clipped)."""
    import numpy as np
    from PIL import Image

    from mmsemdenoise.models.noise.functional import (add_gaussian_noise, image_seed,
                                                      make_generators)
    root = next((p for p in ('data/denoise/CBSD68', '../shared/data/denoise/CBSD68')
                 if osp.isdir(p)), None)
    if root is None or num_images <= 0:
        return None
    files = sorted(os.listdir(root))[:num_images]
    model = MODELS.build(METHODS[method])
    psnrs = []
    for name in files:
        clean = torch.from_numpy(np.array(Image.open(osp.join(root, name)).convert('RGB')))
        clean = clean.permute(2, 0, 1)[None].float() / 255
        gens = make_generators([image_seed(name, 0)], 1, 'cpu')
        noisy = add_gaussian_noise(clean, torch.full((1,), SIGMA), gens)
        out = (model(noisy, torch.full((1,), SIGMA)).clamp(0, 1) * 255).round()
        mse = ((out - clean * 255)**2).mean().item()
        psnrs.append(10 * math.log10(255**2 / mse))
    return statistics.mean(psnrs), f'measured here on {len(files)} CBSD68 photos ({root})'


def fit_loglog(xs: List[float], ys: List[float]) -> Tuple[float, float]:
    """Slope of log y vs log x and the least-squares y per x (through the origin)."""
    lx, ly = [math.log(v) for v in xs], [math.log(v) for v in ys]
    mx, my = statistics.mean(lx), statistics.mean(ly)
    var = sum((a - mx)**2 for a in lx)
    slope = sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / var if var else float('nan')
    per = sum(x * y for x, y in zip(xs, ys)) / sum(x * x for x in xs)
    return slope, per


def tiling_benchmark(size: int, repeats: int, mode: str, fuse_bn: bool) -> None:
    """Whole image vs tiles (default tile and overlap of tools/denoise.py), one and four per
    call, for the paper's net in ``mode`` (fp32 or bf16); the aim is checked on the default
    batch of this device (``default_tile_batch``)."""
    runner = Runner('three-scale', mode, fuse_bn)
    runner.prepare(size)
    x, _ = runner.inputs[size]
    model = runner.model
    default = default_tile_batch(x.device)
    label = {n: f'tiles {DEFAULT_TILE}/{DEFAULT_OVERLAP}, {n} per call'
             + (' (default here)' if n == default else '') for n in (1, 4)}
    variants = {
        'whole image': lambda: model(x),
        label[1]: lambda: tiled_apply(model, x, DEFAULT_TILE, DEFAULT_OVERLAP, batch_size=1),
        label[4]: lambda: tiled_apply(model, x, DEFAULT_TILE, DEFAULT_OVERLAP, batch_size=4),
    }
    times: Dict[str, List[float]] = {k: [] for k in variants}
    outputs = {}
    with runner.context():
        for name, fn in variants.items():  # warm-up, and the outputs compared
            outputs[name] = fn().float()
        for _ in range(repeats):
            for name, fn in variants.items():
                times[name].append(timed(fn))
    rows = tile_spans(size, DEFAULT_TILE, DEFAULT_OVERLAP, 8)
    area = sum((b - a) for a, b in rows)**2 / size**2
    whole = statistics.median(times['whole image'])
    print(f'\n### Tiled vs whole-image inference: three-scale, {mode}, {size}^2 '
          f'({len(rows)}x{len(rows)} tiles of {rows[0][1]}^2, {area:.2f}x the pixels)\n')
    print('| variant | median (s) | megapixels/s | overhead vs whole | max abs diff vs whole |\n'
          '|---|---|---|---|---|')
    ref = outputs['whole image']
    for name, values in times.items():
        t = statistics.median(values)
        diff = (outputs[name] - ref).abs().max().item()
        print(f'| {name} | {t:.3f} | {size * size / 1e6 / t:.3f} | {100 * (t / whole - 1):+.1f} % '
              f'| {diff:.2e} |')
    name = label[default]
    over = statistics.median(times[name]) / whole - 1
    diff = (outputs[name] - ref).abs().max().item()
    print(f'\nAim overhead <= 10 %: {"met" if over <= 0.10 else "MISSED"} ({100 * over:+.1f} %; '
          f'the tiles alone cover {area:.2f}x the pixels at overlap {DEFAULT_OVERLAP}). '
          f'Aim output within 1e-3: {"met" if diff <= 1e-3 else "MISSED"} ({diff:.2e}'
          + (', bfloat16 rounds each tile differently)' if mode == 'bf16' else ').'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[256, 512, 1024])
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    parser.add_argument('--modes', nargs='+', default=['fp32', 'channels-last', 'bf16'],
                        choices=['fp32', 'channels-last', 'bf16'])
    parser.add_argument('--classical-sizes', type=int, nargs='+', default=[256],
                        help='sizes NLM / CBM3D run at (default 256: CBM3D is slow)')
    parser.add_argument('--bf16-sizes', type=int, nargs='+', default=None,
                        help='sizes of the bf16 rows (default: all, or only the smallest when '
                        'this CPU emulates bfloat16)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--compile', action='store_true', help='add torch.compile rows')
    parser.add_argument('--profile', action='store_true',
                        help="print the top operators of the paper's net (bf16 if native, else "
                        'fp32) at the largest size')
    parser.add_argument('--psnr-images', type=int, default=68,
                        help='CBSD68 photos for PSNRs not measured in the repo (NLM); 0: none')
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory table')
    parser.add_argument('--tile-size', type=int, default=None,
                        help='image side of the tiling table (default: the largest size; '
                        '0: skip)')
    parser.add_argument('--no-fuse-conv-bn', dest='fuse_bn', action='store_false',
                        help="keep the paper's net's batch norms (default: folded, as "
                        'tools/denoise.py runs it)')
    parser.add_argument('--out', default='work_dirs/benchmarks/denoisers')
    parser.add_argument('--_memory-child', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._memory_child:
        memory_child(args._memory_child[0], int(args._memory_child[1]))
        return
    torch.manual_seed(0)
    native = cpu_bf16_native()
    sizes = sorted(args.sizes)
    methods = []
    for method in args.methods:
        if method in CLASSICAL:
            _, module, package = CLASSICAL_METHODS[METHODS[method]['method']]
            try:
                __import__(module)
            except ImportError:
                print(f'skipping {method}: needs the {package!r} package (pip install {package})')
                continue
        methods.append(method)
    modes = list(args.modes)
    if args.compile:
        modes += [f'compile-{m}' for m in ('fp32', 'bf16') if m in args.modes]
    if torch.cuda.is_available():
        modes += ['cuda-fp32', 'cuda-bf16']
    bf16_sizes = args.bf16_sizes or (sizes if native else sizes[:1])

    def sizes_of(method: str, mode: str) -> List[int]:
        if method in CLASSICAL:
            return [s for s in sizes if s in args.classical_sizes] if mode == 'fp32' else []
        if mode.endswith('bf16') and not mode.startswith('cuda'):
            return [s for s in sizes if s in bf16_sizes]
        return sizes

    cpu_name = next((line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo')
                     if line.startswith('model name')), 'unknown CPU')
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    print(f'# Denoiser inference benchmark\n\nCPU: {cpu_name}, {torch.get_num_threads()} '
          f'thread(s); GPU: {gpu or "none"}; torch {torch.__version__}; batch 1; medians of '
          f'{args.repeats} interleaved repeats after one warm-up; the paper\'s net with its batch '
          f'norms {"folded into the convolutions" if args.fuse_bn else "as trained (not folded)"}.')
    print(f'Native CPU bfloat16 (mkldnn): {native}.' + (
        '' if native else ' bfloat16 is EMULATED on this CPU (no AVX512-BF16/AMX): the bf16 '
        'rows are several times slower than fp32 and say nothing about a CPU with native '
        f'bfloat16; they run only at {bf16_sizes}.'))
    if any(m in methods for m in CLASSICAL):
        print(f'NLM / CBM3D: CPU, float64 numpy, at {args.classical_sizes} only, fp32 rows.')

    runners = {(m, mode): Runner(m, mode, args.fuse_bn) for m in methods for mode in modes
               if sizes_of(m, mode)}
    limits = {mode: limit_fns(mode) for mode in modes if not mode.startswith('compile')}
    times: Dict[tuple, List[float]] = {}
    limit_times: Dict[tuple, List[float]] = {(mode, k): [] for mode in limits for k in limits[mode]}
    for mode, fns in limits.items():  # warm-up
        for fn, _ in fns.values():
            fn()
    for size in sizes:
        active = [key for key in runners if size in sizes_of(*key)]
        for key in list(active):
            runners[key].prepare(size)
            try:
                runners[key].forward(size)  # warm-up (and compilation)
            except Exception as error:  # noqa: BLE001 (a compiler failure is a result)
                if not key[1].startswith('compile'):
                    raise
                print(f'{key[0]} {key[1]} at {size}^2: torch.compile failed '
                      f'({type(error).__name__}: {str(error).splitlines()[0][:200]}); row left out')
                active.remove(key)
                del runners[key]
                continue
            times[key + (size,)] = []
        for _ in range(args.repeats):
            for key in active:
                times[key + (size,)].append(runners[key].time(size))
            for (mode, name), values in limit_times.items():  # the limit, in the same loop
                values.append(timed(limits[mode][name][0]))
        print(f'... {size}^2 done', file=sys.stderr)

    macs = {(m, s): count_macs(runners[(m, modes[0])].model, s, m == 'ffdnet')
            for m in methods if m not in CLASSICAL for s in sizes}
    limit_rate = {key: limits[key[0]][key[1]][1] / statistics.median(v)
                  for key, v in limit_times.items()}
    for mode in limits:  # the conv limit: the fastest conv side
        limit_rate[(mode, 'conv')] = max(limit_rate[(mode, f'conv{side}')]
                                         for side in CONV_LIMIT_SIDES)

    def limit_mode(mode: str) -> str:
        return mode.replace('compile-', '') if mode.startswith('compile') else mode

    print('\n### Speed (batch 1)\n')
    print('| method | mode | size | median (ms) | images/s | megapixels/s | GMAC/s | '
          'of conv limit |\n|---|---|---|---|---|---|---|---|')
    med = {key: statistics.median(v) for key, v in times.items()}
    for (m, mode, s), t in med.items():
        mp = s * s / 1e6
        row = f'| {m} | {mode} | {s}^2 | {1e3 * t:.1f} | {1 / t:.2f} | {mp / t:.3f} |'
        if (m, s) in macs:
            rate = macs[(m, s)] / t
            frac = rate / limit_rate[(limit_mode(mode), 'conv')]
            row += f' {rate / 1e9:.2f} | {100 * frac:.0f} % |'
        else:
            row += ' – | – |'
        print(row)

    print('\n### MACs per pixel (counted: hooks on Conv2d / ConvTranspose2d / Linear)\n')
    print('| method | parameters | ' + ' | '.join(f'MACs/px at {s}^2' for s in sizes)
          + ' |\n|---|---|' + '---|' * len(sizes))
    for m in methods:
        if m in CLASSICAL:
            continue
        params = sum(p.numel() for p in runners[(m, modes[0])].model.parameters())
        print(f'| {m} | {params:,} | '
              + ' | '.join(f'{macs[(m, s)] / s**2:,.0f}' for s in sizes) + ' |')

    print(f'\n### The machine\'s limit (same loop, dtype and threads): conv {CONV_LIMIT[0]}->'
          f'{CONV_LIMIT[0]} 3x3 in the mode\'s dtype on '
          + ' and '.join(f'{s}^2' for s in CONV_LIMIT_SIDES)
          + f' (limit: the faster), GEMM {GEMM_LIMIT}^3\n')
    print('| mode | ' + ' | '.join(f'conv {s}^2 GMAC/s' for s in CONV_LIMIT_SIDES)
          + ' | GEMM GMAC/s |\n|---|' + '---|' * (len(CONV_LIMIT_SIDES) + 1))
    for mode in limits:
        print(f'| {mode} | ' + ' | '.join(f'{limit_rate[(mode, f"conv{s}")] / 1e9:.2f}'
                                          for s in CONV_LIMIT_SIDES)
              + f' | {limit_rate[(mode, "gemm")] / 1e9:.2f} |')

    if 'three-scale' in methods and 'dncnn' in methods:
        print('\n### The paper\'s net vs DnCNN (time ratio; aim >= 2.5x)\n')
        print('| mode | size | DnCNN / three-scale | aim |\n|---|---|---|---|')
        for (m, mode, s), t in med.items():
            if m == 'three-scale' and ('dncnn', mode, s) in med:
                r = med[('dncnn', mode, s)] / t
                print(f'| {mode} | {s}^2 | {r:.2f}x | {"met" if r >= 2.5 else "MISSED"} |')
    if 'three-scale' in methods and 'three-scale-bn' in methods:
        print('\n### Folding the batch norms (same loop; time as trained / time folded)\n')
        print('| mode | size | three-scale-bn / three-scale |\n|---|---|---|')
        for (m, mode, s), t in med.items():
            if m == 'three-scale' and ('three-scale-bn', mode, s) in med:
                print(f'| {mode} | {s}^2 | {med[("three-scale-bn", mode, s)] / t:.2f}x |')
    if 'three-scale' in methods:
        bf = [(mode, s, t) for (m, mode, s), t in med.items()
              if m == 'three-scale' and mode == 'bf16']
        for mode, s, t in bf:
            frac = macs[('three-scale', s)] / t / limit_rate[('bf16', 'conv')]
            print(f'\nthree-scale bf16 at {s}^2: {100 * frac:.0f} % of the measured bf16 conv '
                  f'limit (aim >= 60 %): {"met" if frac >= 0.6 else "MISSED"}'
                  + ('' if native else ' (emulated bfloat16 on this CPU)'))

    print('\n### Scaling with image size (fit on the sizes above)\n')
    print('| method | mode | log-log slope of time vs pixels | ms per megapixel (fit) |\n'
          '|---|---|---|---|')
    for m, mode in runners:
        ss = [s for s in sizes if (m, mode, s) in med]
        if len(ss) >= 2:
            slope, per = fit_loglog([s * s / 1e6 for s in ss],
                                    [1e3 * med[(m, mode, s)] for s in ss])
            print(f'| {m} | {mode} | {slope:.3f} | {per:.0f} |')
    if not args.no_memory:
        print('\n### Peak memory, fp32 forward (subprocess each: peak RSS (VmHWM, reset after the '
              'model and input are built) and its growth over the RSS before the forward)\n')
        print('| method | size | peak RSS (MiB) | growth (MiB) |\n|---|---|---|---|')
        growth = {}
        for m in methods:
            for s in sizes_of(m, 'fp32'):
                mem = measure_memory(m, s)
                if mem:
                    growth.setdefault(m, []).append((s, mem['growth_mib']))
                    print(f'| {m} | {s}^2 | {mem["peak_mib"]:.0f} | {mem["growth_mib"]:.0f} |')
        print('\n| method | log-log slope of memory growth vs pixels | MiB per megapixel (fit) |'
              '\n|---|---|---|')
        for m, points in growth.items():
            if len(points) >= 2 and all(g > 0 for _, g in points):
                slope, per = fit_loglog([s * s / 1e6 for s, _ in points], [g for _, g in points])
                print(f'| {m} | {slope:.3f} | {per:.0f} |')

    tile_size = sizes[-1] if args.tile_size is None else args.tile_size
    if tile_size and 'three-scale' in methods:
        for mode in ('fp32', 'bf16') if native else ('fp32',):
            tiling_benchmark(tile_size, args.repeats, mode, args.fuse_bn)

    if args.profile and 'three-scale' in methods:
        profile_net('bf16' if native else 'fp32', sizes[-1], args.fuse_bn)

    plot_quality_speed(methods, med, sizes, args)


def profile_net(mode: str, size: int, fuse_bn: bool) -> None:
    """Where the paper's net spends its time: torch.profiler's top operators, one forward."""
    from torch.profiler import ProfilerActivity, profile
    runner = Runner('three-scale', mode, fuse_bn)
    runner.prepare(size)
    runner.forward(size)  # warm-up
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        runner.forward(size)
    print(f'\n### Profile: three-scale, {mode}, {size}^2 (operators by self CPU time, with '
          f'input shapes)\n\n```')
    print(prof.key_averages(group_by_input_shape=True).table(
        sort_by='self_cpu_time_total', row_limit=12, max_name_column_width=28,
        max_shapes_column_width=60))
    print('```')


def plot_quality_speed(methods: List[str], med: Dict[tuple, float], sizes: List[int],
                       args: argparse.Namespace) -> None:
    """PSNR vs megapixels/s at the classical size (or the smallest), fp32 rows; PNG."""
    psnr = {}
    for m in methods:
        if m in PSNR_CBSD68_SIGMA25:
            psnr[m] = PSNR_CBSD68_SIGMA25[m]
        elif m in CLASSICAL:
            measured = classical_psnr(m, args.psnr_images)
            if measured:
                psnr[m] = measured
    size = next((s for s in sizes if s in args.classical_sizes), sizes[0])
    print(f'\n### Quality vs speed (CBSD68 sigma 25 PSNR; fp32 speed at {size}^2)\n')
    print('| method | PSNR (dB) | megapixels/s | PSNR source |\n|---|---|---|---|')
    points = []
    for m in methods:
        t = med.get((m, 'fp32', size))
        if m in psnr and t:
            points.append((m, psnr[m][0], size * size / 1e6 / t))
            print(f'| {m} | {psnr[m][0]:.2f} | {points[-1][2]:.4f} | {psnr[m][1]} |')
    if not points:
        return
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for m, p, mps in points:
        ax.scatter(mps, p)
        ax.annotate(m, (mps, p), textcoords='offset points', xytext=(5, 3))
    ax.set_xscale('log')
    ax.set_xlabel(f'megapixels/s (fp32, {size}^2, {torch.get_num_threads()} thread(s))')
    ax.set_ylabel('PSNR (dB), CBSD68 sigma 25')
    measured = [m for m in psnr if m not in PSNR_CBSD68_SIGMA25]
    ax.set_title('Quality vs speed; PSNR: repo figures (trained weights)'
                 + (f',\n{", ".join(measured)} measured here' if measured else ''), fontsize=9)
    ax.grid(True, which='both', alpha=0.3)
    os.makedirs(args.out, exist_ok=True)
    path = osp.join(args.out, 'quality_speed.png')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f'\nsaved {path}')


if __name__ == '__main__':
    main()
