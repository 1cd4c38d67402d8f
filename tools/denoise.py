"""Denoise an image file or a folder of photos with a trained denoiser.

Without --config/--checkpoint it uses the shipped blind denoiser
(mmsemdenoise://three-scale_blind_bsd400, sigma 0-75). Outputs go to another folder under the
inputs' names (JPEGs as PNG, so no new compression artefacts), written atomically; inputs are
never modified and existing outputs are kept unless --force.

* 8- and 16-bit PNG/TIFF keep their bit depth; grey stays grey (a colour network sees three
  copies shifted by one pixel, so the noise differs across channels as in training; the output
  is the mean of the three, shifted back); an alpha channel is copied unchanged (grey + alpha
  PNGs are written as RGBA with equal colour channels);
* the EXIF orientation is applied: outputs are written upright, without EXIF;
* images with a side over --tile (512) pixels are denoised in overlapping, cross-faded tiles;
* batch norms are folded into their convolutions first (same outputs up to float rounding,
  faster; --no-fuse-conv-bn keeps the network as trained);
* a file that cannot be read or written is reported by name and skipped (also a symlink loop,
  a dangling link, an image whose header claims more than --max-pixels, 200 MP by default, and
  a network output that is not finite); the others are written, and the exit status is 1 if any
  failed;
* noise levels must be finite numbers >= 0; --checkpoint files load with weights_only=True and
  mmengine's allowlist (--trust-checkpoint lifts that for that file); an output folder that
  cannot be made, missing or damaged weights end in one line before anything is denoised;
  temporary files a killed run left in the output folder are removed.

Usage:
    python tools/denoise.py INPUT OUT_DIR [--config CONFIG] [--checkpoint CKPT_OR_NAME]
                            [--noise-level 25] [--add-noise 25] [--tile 512] [--overlap 64]
                            [--device cuda] [--force] [--no-fuse-conv-bn]
                            [--max-pixels 200000000] [--trust-checkpoint]
"""
import argparse
import math
import os
import sys
from pathlib import Path

import torch

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and shipped names)
from mmsemdenoise.apis import DEFAULT_DENOISER, denoise_files, list_images, load_denoiser
from mmsemdenoise.apis.denoise_files import DEFAULT_OVERLAP, DEFAULT_TILE
from mmsemdenoise.utils import is_shipped_name
from mmsemdenoise.utils.cli import KNOWN_ERRORS, add_trust_arg, fail
from mmsemdenoise.utils.images import DEFAULT_MAX_PIXELS


def sigma(text: str) -> float:
    """argparse type: a finite noise level >= 0."""
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f'must be a finite number >= 0 (0-255), got {text}')
    return value


def check_out_dir(out_dir: str) -> None:
    """Refuse, before loading anything, an output path that is a file or cannot be created."""
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f'output folder {out_dir} is a file')
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise NotADirectoryError(f'output folder {out_dir}: {existing} is a file')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f'output folder {out_dir}: cannot write into {existing}')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Denoise an image or a folder of images')
    parser.add_argument('input', help='an image file or a folder of images')
    parser.add_argument('out_dir', help='output folder (must not be the input folder)')
    parser.add_argument('--config', help='config whose model.denoiser is the network, or a '
                        'shipped name (default: the architecture --checkpoint carries; needed '
                        'only for a bare state dict)')
    parser.add_argument('--checkpoint', help='cascade or denoiser checkpoint, run work dir, or '
                        f'shipped name (default: {DEFAULT_DENOISER} when --config is not given)')
    parser.add_argument('--noise-level', type=sigma,
                        help='sigma (0-255) given to networks that take it (FFDNet)')
    parser.add_argument('--add-noise', type=sigma,
                        help='first add Gaussian noise of this sigma (0-255), the noise sweep\'s: '
                        'GaussianNoise seeded by the file name (the same noisy pixels), '
                        'and also write the noisy image (<name>_noisy.<ext>)')
    parser.add_argument('--tile', type=int, default=DEFAULT_TILE,
                        help='tile side for images with a longer side (0: never tile)')
    parser.add_argument('--overlap', type=int, default=DEFAULT_OVERLAP,
                        help='pixels shared by neighbouring tiles')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--force', action='store_true', help='overwrite existing outputs')
    parser.add_argument('--no-fuse-conv-bn', dest='fuse_conv_bn', action='store_false',
                        help='keep the batch norms (default: folded into the convolutions)')
    parser.add_argument('--max-pixels', type=int, default=DEFAULT_MAX_PIXELS,
                        help='refuse images whose header claims more pixels (0: no limit)')
    add_trust_arg(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.config is None and args.checkpoint is None:
        args.checkpoint = DEFAULT_DENOISER
    elif args.config is not None and args.checkpoint is None and not is_shipped_name(args.config):
        sys.exit('denoise.py: error: --config without --checkpoint would denoise with untrained '
                 'weights; give --checkpoint (a file, work dir or shipped name)')
    try:
        check_out_dir(args.out_dir)
        files = list_images(args.input)
        denoiser = load_denoiser(args.config, args.checkpoint, args.device,
                                 fuse_conv_bn=args.fuse_conv_bn,
                                 trust_checkpoint=args.trust_checkpoint)
        report = denoise_files(denoiser, files, args.out_dir, args.noise_level, args.add_noise,
                               args.tile, args.overlap, args.force, max_pixels=args.max_pixels)
    except KNOWN_ERRORS as error:
        fail('denoise.py', error)
    print(f'wrote {len(report.written)} image(s) to {args.out_dir}' +
          (f'; kept {len(report.kept)} existing (use --force to overwrite)'
           if report.kept else ''))
    if report.failed:
        print(f'{len(report.failed)} file(s) failed:', file=sys.stderr)
        for path, reason in report.failed.items():
            print(f'  {path}: {reason}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
