"""Time one stage-1 training step of a denoiser in float32 and under bfloat16 autocast on this CPU.

Prints whether the CPU has native bfloat16 (what ``AutocastOptimWrapper`` checks before casting)
and the median step time of each dtype, interleaved, on one thread by default::

    OMP_NUM_THREADS=1 python benchmarks/stage1_step_dtype.py [--denoiser ThreeScaleDenoiser]
        [--batch 16] [--patch 64] [--repeats 5]

Measured (docs/benchmarks.md): 3.0-3.2 s float32 vs 28-32 s bfloat16 for the paper's net on an
AVX-only AMD EPYC (emulated bfloat16); 0.58 vs 0.34 s on an EPYC with AVX512-BF16.
"""
import argparse
import statistics
import time

import torch

import mmsemdenoise  # noqa: F401 (registers the denoisers)
from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils.device import cpu_has_native_bfloat16


def step_time(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: torch.Tensor,
              bfloat16: bool) -> float:
    """Seconds of one forward (L1 to the input) + backward + Adam step."""
    start = time.perf_counter()
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bfloat16):
        out = model(batch, None)
    loss = (out.float() - batch).abs().mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--denoiser', default='ThreeScaleDenoiser')
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--patch', type=int, default=64)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = MODELS.build(dict(type=args.denoiser)).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    batch = torch.rand(args.batch, 3, args.patch, args.patch)
    times = {'float32': [], 'bfloat16': []}
    for dtype in times:  # warm-up
        step_time(model, optimizer, batch, dtype == 'bfloat16')
    for _ in range(args.repeats):  # interleaved
        for dtype in times:
            times[dtype].append(step_time(model, optimizer, batch, dtype == 'bfloat16'))
    print(f'{args.denoiser}, {args.batch} x {args.patch}^2, {torch.get_num_threads()} thread(s), '
          f'native bfloat16: {cpu_has_native_bfloat16()}')
    print('| dtype | median step (s) | min | max |\n|---|---|---|---|')
    for dtype, values in times.items():
        print(f'| {dtype} | {statistics.median(values):.3f} | {min(values):.3f} | '
              f'{max(values):.3f} |')
    ratio = statistics.median(times['bfloat16']) / statistics.median(times['float32'])
    print(f'bfloat16 / float32 = {ratio:.2f}')


if __name__ == '__main__':
    main()
