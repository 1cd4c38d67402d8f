"""Convert the official MatConvNet DnCNN / FFDNet weights (MATLAB v7.3 ``.mat``) to a checkpoint.

Usage::

    python tools/convert_matlab_weights.py CDnCNN_color_sigma25.mat cdncnn_sigma25.pth --arch dncnn
    python tools/convert_matlab_weights.py FFDNet_color.mat ffdnet_color.pth --arch ffdnet
    python tools/convert_matlab_weights.py CDnCNN_color_sigma25.mat cdncnn_sigma25.pth \
        --arch dncnn --prefix denoiser.   # a cascade checkpoint, for tools/test.py CONFIG CKPT

The output is an mmengine-style checkpoint ``{'state_dict': ..., 'meta': {...}}``; load it with
``mmengine.runner.load_checkpoint`` into the model ``meta['model_cfg']`` describes (batch norm is
folded in the released weights, hence ``bn=False``), or from a config::

    denoiser=dict(type='DnCNN', num_layers=20, bn=False,
                  init_cfg=dict(type='Pretrained', checkpoint='cdncnn_sigma25.pth'))

A command line over :mod:`mmsemdenoise.models.converters.matlab_weights`.
"""
import argparse
import sys
from typing import List, Optional

from mmsemdenoise.models.converters.matlab_weights import ARCHS, convert_matlab_file


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='MatConvNet .mat file (MATLAB v7.3 / HDF5)')
    parser.add_argument('dst', help='checkpoint to write (.pth)')
    parser.add_argument('--arch', required=True, choices=ARCHS, help='network in the file')
    parser.add_argument('--prefix', default='',
                        help="prepend this to every key, e.g. 'denoiser.' to load the file as a "
                        'DenoisingCascade checkpoint (tools/test.py, load_from)')
    parser.add_argument('--force', action='store_true', help='overwrite an existing dst')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error)."""
    args = parse_args(argv)
    try:
        meta = convert_matlab_file(args.src, args.dst, args.arch, args.force, args.prefix)
    except (FileExistsError, FileNotFoundError, ValueError, ImportError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {args.dst}: {meta["arch"]} from {meta["source"]}, model {meta["model_cfg"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
