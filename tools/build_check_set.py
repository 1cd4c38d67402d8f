"""Build a small ImageNet-labelled check set from real photos shipped inside packages.

Usage::

    python tools/build_check_set.py data/imagenet-check
    python tools/build_check_set.py data/imagenet-check --debian-root /tmp/opencv-doc
    python tools/build_check_set.py OUT --skip-missing     # only what is installed

A command line over :mod:`mmsemdenoise.datasets.check_set` (the photos, their classes and
licences are listed there). The output has the layout of mmpretrain's ``ImageNet`` dataset with
``split='val'``: ``OUT/val/<source>_<file>``, ``OUT/meta/val.txt`` and ``OUT/README.md``.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from mmsemdenoise.datasets.check_set import CHECK_SET, build_check_set


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out', help='output folder (ImageNet layout: val/, meta/val.txt)')
    parser.add_argument('--debian-root', default='/',
                        help='root of the Debian packages\' files (default /; or a dpkg-deb -x '
                        'folder)')
    parser.add_argument('--skip-missing', action='store_true',
                        help='leave out images whose package is not installed')
    parser.add_argument('--force', action='store_true', help='write into a non-empty folder')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error)."""
    args = parse_args(argv)
    out = Path(args.out)
    try:
        images = build_check_set(out, Path(args.debian_root), args.skip_missing, args.force)
    except (FileExistsError, FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in (out / 'val').iterdir())
    print(f'wrote {len(images)} of {len(CHECK_SET)} images ({size / 1e6:.2f} MB) to {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
