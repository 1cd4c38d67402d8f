"""Build the demo data bundled in the package (``mmsemdenoise/demo_data``) from real photos.

Usage::

    apt-get download opencv-doc && dpkg-deb -x opencv-doc_*.deb /tmp/opencv-doc
    python tools/build_demo_data.py mmsemdenoise/demo_data --debian-root /tmp/opencv-doc

Two parts, each photo from a package anyone can install (scikit-image and matplotlib from PyPI;
Debian's ``opencv-doc``, Debian main, so DFSG-free), with its licence written to README.md:

- ``train/``: 15 unlabelled colour photos (streets, buildings, fruit, graffiti, a circuit board,
  ...) for stage 1 (denoiser patches) and the label-free stage 2; long side resized to 480 px.
- ``val/`` + ``meta/val.txt``: the colour photos of the ImageNet check set
  (``tools/build_check_set.py``: labels chosen from the content before any model saw them),
  short side resized to 256 px, EfficientNet's evaluation size (224 = 256 - 32 centre crop).

Resized with Pillow's Lanczos filter and stored as JPEG quality 95 to keep the package small
(about 1.5 MB); the train and val photos are disjoint.
"""
import argparse
import sys
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from PIL import Image

from mmsemdenoise.datasets.check_set import (CHECK_SET, OPENCV_DOC, OPENCV_LICENCE, CheckImage,
                                             check_labels, locate)

TRAIN_SIDE = 480  # long side of the training photos
VAL_SIDE = 256  # short side of the evaluation photos
CV_DATA = f'{OPENCV_DOC}/examples/data'


def _train(source: str, path: str, licence: str, note: str, name: str = '') -> CheckImage:
    return CheckImage(source, path, -1, '', licence, note, name)


TRAIN_SET: Tuple[CheckImage, ...] = (
    _train('python:skimage', 'data/astronaut.png', 'public domain (NASA)',
           'astronaut Eileen Collins, portrait'),
    _train('python:skimage', 'data/motorcycle_left.png', 'CC0 (Middlebury stereo 2014)',
           'a motorcycle in a garage, left stereo view'),
    *(_train('debian:opencv-doc', f'{CV_DATA}/{name}', OPENCV_LICENCE, note) for name, note in (
        ('building.jpg', 'a hotel facade and trees'),
        ('home.jpg', 'a palace roof against a blue sky with birds'),
        ('fruits.jpg', 'cut citrus fruit and kiwi, close-up'),
        ('left.jpg', 'books and a box on a floor (stereo left view)'),
        ('leuvenA.jpg', 'a cobbled street between brick houses'),
        ('aero1.jpg', 'an aerial view of a town'),
        ('graf1.png', 'graffiti on a wall'),
        ('rubberwhale1.png', 'toys and fabric (Middlebury optical flow "RubberWhale")'),
        ('smarties.png', 'coloured sweets on white'),
        ('apple.jpg', 'an apple on a table'),
        ('board.jpg', 'a printed circuit board'),
    )),
    _train('debian:opencv-doc', f'{OPENCV_DOC}/examples/text/scenetext01.jpg', OPENCV_LICENCE,
           'a parking sign, a street and cars', name='scenetext01.jpg'),
    _train('debian:opencv-doc', f'{OPENCV_DOC}/examples/hfs/data/002.jpg', OPENCV_LICENCE,
           'a tree on a meadow under a blue sky', name='hfs_tree.jpg'),
)


def resized(path: Path, side: int, edge: Callable[[Tuple[int, int]], int]) -> Image.Image:
    """The RGB photo scaled so that ``edge(size)`` (``max``: long side, ``min``: short side) is
    ``side`` pixels; never enlarged."""
    img = Image.open(path).convert('RGB')
    if edge(img.size) > side:
        scale = side / edge(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)),
                         Image.Resampling.LANCZOS)
    return img


def readme(rows: List[Tuple[str, CheckImage, str, Tuple[int, int]]], total: int) -> str:
    """Markdown provenance table."""
    lines = ['# Demo data of mmsemdenoise', '',
             'Real photos from installable packages, resized and re-encoded by '
             '`tools/build_demo_data.py` (Lanczos, JPEG quality 95). `train/` is unlabelled '
             '(stage 1 and the label-free stage 2 of `tools/demo.py`); `val/` holds the colour '
             'photos of the ImageNet check set with their class in `meta/val.txt` (chosen from '
             "the photos' content). A demonstration, not a benchmark.", '',
             '| file | package | path in package | licence | size | class | note |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for file, image, version, size in rows:
        label = f'{image.label} {image.class_name}' if image.label >= 0 else '-'
        lines.append(f'| {file} | {version} | {image.path} | {image.licence} | '
                     f'{size[0]}x{size[1]} | {label} | {image.note} |')
    lines += ['', f'{len(rows)} images, {total / 1e6:.2f} MB.', '']
    return '\n'.join(lines)


def build(out: Path, debian_root: Path = Path('/'), force: bool = False) -> int:
    """Write ``train/``, ``val/``, ``meta/val.txt`` and ``README.md`` below ``out``.

    Returns:
        int: The number of images written.

    Raises:
        FileExistsError: If ``out`` holds files and ``force`` is False.
        FileNotFoundError: If a photo is missing (the message names its package).
    """
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f'{out} exists and is not empty; pass --force to write into it')
    check_labels(CHECK_SET)
    jobs = [('train', image) for image in TRAIN_SET] + [('val', image) for image in CHECK_SET]
    found = []
    for part, image in jobs:
        path, version = locate(image, debian_root)
        if path is None:
            raise FileNotFoundError(f'{image.file_name} not found ({image.source}: {image.path});'
                                    f' install it or pass --debian-root (now {debian_root})')
        found.append((part, image, path, version))
    rows, total, val_lines = [], 0, []
    for part, image, path, version in found:
        if part == 'val' and Image.open(path).mode in ('L', 'LA', 'I;16'):
            continue  # grey-level photos: the demo adds colour noise
        img = resized(path, TRAIN_SIDE, max) if part == 'train' else resized(path, VAL_SIDE, min)
        file = f'{part}/{Path(image.file_name).stem}.jpg'
        (out / part).mkdir(parents=True, exist_ok=True)
        img.save(out / file, quality=95)
        total += (out / file).stat().st_size
        rows.append((file, image, version, img.size))
        if part == 'val':
            val_lines.append(f'{Path(file).name} {image.label}\n')
    (out / 'meta').mkdir(exist_ok=True)
    (out / 'meta' / 'val.txt').write_text(''.join(val_lines))
    (out / 'README.md').write_text(readme(rows, total))
    return len(rows)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out', help='output folder, e.g. mmsemdenoise/demo_data')
    parser.add_argument('--debian-root', default='/',
                        help="root of the Debian packages' files (default /; or a dpkg-deb -x "
                        'folder)')
    parser.add_argument('--force', action='store_true', help='write into a non-empty folder')
    args = parser.parse_args(argv)
    try:
        n = build(Path(args.out), Path(args.debian_root), args.force)
    except (FileExistsError, FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {n} images to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
