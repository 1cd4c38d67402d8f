"""Time our SSIM against scikit-image's on images of CBSD68's size, with the largest difference.

Every evaluation of the project (the tests, ``tools/test.py``, the noise sweep, the demo) computes
SSIM per image (:func:`mmsemdenoise.evaluation.functional.ssim`, float64, the authors' 11x11
Gaussian window over the 'valid' region). The peer is ``skimage.metrics.structural_similarity``
with the same protocol (``gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=255, channel_axis=0``), which the tests use as the reference; both see the same
images (clean photos' stand-in: blurred random RGB, and a noisy copy at sigma 25). Prints one
markdown table: median seconds per image over the repeats, the ratio of the times, the largest
difference of the values::

    python benchmarks/ssim.py [--images 8] [--size 321 481] [--repeats 3]
"""
import argparse
import statistics
import time
from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from mmsemdenoise.evaluation import ssim


def make_pairs(count: int, height: int, width: int) -> tuple:
    """``count`` (clean, noisy) pairs as float64 ``(count, 3, H, W)`` tensors on 0-255."""
    generator = torch.Generator().manual_seed(0)
    clean = torch.rand(count, 3, height, width, generator=generator, dtype=torch.float64) * 255
    clean = F.avg_pool2d(clean, 5, stride=1, padding=2)  # some spatial structure
    noisy = (clean + 25 * torch.randn(clean.shape, generator=generator, dtype=torch.float64))
    return clean, noisy.clamp(0, 255).round()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=8)
    parser.add_argument('--size', type=int, nargs=2, default=[321, 481], metavar=('H', 'W'))
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args(argv)
    from skimage.metrics import structural_similarity

    clean, noisy = make_pairs(args.images, *args.size)
    ours_times, peer_times = [], []
    for _ in range(args.repeats):  # interleaved, so a busy moment hits both
        start = time.perf_counter()
        ours = ssim(noisy, clean)
        ours_times.append((time.perf_counter() - start) / args.images)
        start = time.perf_counter()
        peer = [structural_similarity(n, c, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, data_range=255,
                                      channel_axis=0)
                for n, c in zip(noisy.numpy(), clean.numpy())]
        peer_times.append((time.perf_counter() - start) / args.images)
    diff = float(np.max(np.abs(ours.numpy() - np.array(peer))))
    ours_s, peer_s = statistics.median(ours_times), statistics.median(peer_times)
    print(f'{args.images} images of 3x{args.size[0]}x{args.size[1]}, {args.repeats} repeats, '
          f'{torch.get_num_threads()} torch thread(s)\n')
    print("| SSIM | s per image (median) | time / scikit-image's | largest difference |")
    print('|---|---|---|---|')
    print(f'| mmsemdenoise (torch, float64) | {ours_s:.4f} | {ours_s / peer_s:.2f} | '
          f'{diff:.1e} |')
    print(f'| scikit-image structural_similarity | {peer_s:.4f} | 1.00 | 0 |')


if __name__ == '__main__':
    main()
