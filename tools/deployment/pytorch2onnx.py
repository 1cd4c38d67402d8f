"""Export a denoiser to ONNX (dynamic batch, height and width) and check it with onnxruntime.

CONFIG_OR_NAME is a config whose model.denoiser is the network (weights from --checkpoint, else
its untrained initialisation) or a shipped name such as mmsemdenoise://three-scale_blind_bsd400
(the config its metafile entry names, and its weights). The graph's inputs are `noisy`
(N, C, H, W) float32 in [0, 1] and, for FFDNet, `noise_level` (N,) in sigma / 255; its output is
`denoised`. Needs `pip install ".[deploy]"` (onnx; onnxruntime for the check).

Usage:
    python tools/deployment/pytorch2onnx.py CONFIG_OR_NAME OUT.onnx [--checkpoint CKPT]
                                            [--opset 17] [--force] [--no-check]
"""
import argparse
import sys

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and shipped names)
from mmsemdenoise.apis import load_denoiser
from mmsemdenoise.apis.onnx_export import DEFAULT_OPSET, export_onnx, onnx_max_abs_diff
from mmsemdenoise.utils import is_shipped_name
from mmsemdenoise.utils.cli import error_message

TOLERANCE = 1e-4


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a denoiser to ONNX')
    parser.add_argument('config', help='config with model.denoiser, or a shipped name')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument('--checkpoint', help='cascade or denoiser checkpoint, work dir or shipped '
                        'name (default: the shipped weights of a name, else none)')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help='ONNX opset')
    parser.add_argument('--force', action='store_true', help='replace an existing OUT')
    parser.add_argument('--no-check', action='store_true',
                        help='skip the onnxruntime vs PyTorch comparison at two sizes')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.checkpoint is None and not is_shipped_name(args.config):
        print('warning: no --checkpoint: exporting the untrained initialisation',
              file=sys.stderr)
    try:
        denoiser = load_denoiser(args.config, args.checkpoint)
        path = export_onnx(denoiser, args.out, args.opset, args.force)
    except (FileNotFoundError, FileExistsError, KeyError, TypeError, ValueError) as e:
        sys.exit(f'pytorch2onnx.py: error: {error_message(e)}')
    print(f'wrote {path} ({type(denoiser).__name__}, opset {args.opset})')
    if args.no_check:
        return 0
    diffs = onnx_max_abs_diff(path, denoiser)
    for (n, h, w), diff in diffs.items():
        print(f'  onnxruntime vs PyTorch, N x H x W = {n} x {h} x {w}: max |diff| = {diff:.2e}')
    if max(diffs.values()) > TOLERANCE:
        print(f'error: the ONNX graph differs from PyTorch by more than {TOLERANCE}',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
