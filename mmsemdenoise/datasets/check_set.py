"""A small ImageNet-labelled check set from real photos shipped inside packages.

Command line: ``tools/build_check_set.py``.

ImageNet itself is not redistributable. This set is 14 photos whose content has an ImageNet-1k
class, taken unmodified from packages anyone can install: scikit-image and matplotlib (PyPI,
both dependencies of mmsemdenoise) and Debian's ``opencv-doc`` (OpenCV's sample images; Debian
main, so DFSG-free). The class of each image was chosen from its content before any model saw it;
where ImageNet lacks the exact species the nearest class is used and the note says so.

``opencv-doc`` either installed (``apt-get install opencv-doc``) or only unpacked::

    apt-get download opencv-doc && dpkg-deb -x opencv-doc_*.deb /tmp/opencv-doc

The output has the layout of mmpretrain's ``ImageNet`` dataset with ``split='val'``::

    OUT/val/<source>_<file>          the images, byte for byte
    OUT/meta/val.txt                 "<file> <class index>" per line
    OUT/README.md                    provenance: package, version, path, licence, class, note
"""
import gzip
import importlib.metadata
import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

OPENCV_DOC = 'usr/share/doc/opencv-doc'
OPENCV_LICENCE = ('Apache-2.0 AND BSD-3-Clause (Debian copyright file, "Files: *"; Debian '
                  'removed the non-free images)')


@dataclass(frozen=True)
class CheckImage:
    """One photo of the check set.

    Attributes:
        source (str): ``'python:<import name>'`` or ``'debian:<package>'``.
        path (str): Inside the Python package's folder, or below the root of the file system.
        label (int): ImageNet-1k class index (0..999).
        class_name (str): The class's first name in mmpretrain's ``IMAGENET_CATEGORIES``.
        licence (str): The image's licence as its package states it.
        note (str): What the photo shows, and why this class.
        name (str): File name in ``val/`` without the source prefix. Defaults to the name of
            the file in its package.
    """

    source: str
    path: str
    label: int
    class_name: str
    licence: str
    note: str
    name: str = ''

    @property
    def file_name(self) -> str:
        """Name in ``val/``: the source package and the file's name, e.g. ``skimage_coffee.png``."""
        package = self.source.split(':', 1)[1]
        return f'{package}_{self.name or Path(self.path).name}'


CHECK_SET: Tuple[CheckImage, ...] = (
    CheckImage('python:skimage', 'data/chelsea.png', 281, 'tabby',
               'CC0 (photographer Stefan van der Walt)', 'a striped tabby cat, face close-up'),
    CheckImage('python:skimage', 'data/coffee.png', 967, 'espresso',
               'CC0 (photographer Rachel Michetti)',
               'a cup of espresso on a saucer (cup, 968, would fit too)'),
    CheckImage('python:skimage', 'data/rocket.jpg', 657, 'missile',
               'public domain (SpaceX)', 'a Falcon 9 rocket on its launch pad at night'),
    CheckImage('python:skimage', 'data/camera.png', 872, 'tripod',
               'CC0 (photographer Lav Varshney)',
               'grey-level: a man at a camera on a tall tripod, the tripod prominent'),
    CheckImage('python:matplotlib', 'mpl-data/sample_data/grace_hopper.jpg', 652,
               'military uniform', 'public domain (official US Navy portrait)',
               'Grace Hopper in US Navy dress uniform'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/data/squirrel_cls.jpg', 335,
               'fox squirrel', OPENCV_LICENCE,
               'a red squirrel on a branch; fox squirrel is ImageNet\'s only tree squirrel'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/data/baboon.jpg', 372, 'baboon',
               OPENCV_LICENCE, 'a mandrill\'s face (no mandrill class; baboon is the nearest)'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/data/orange.jpg', 950, 'orange',
               OPENCV_LICENCE, 'one orange filling the frame'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/data/messi5.jpg', 805, 'soccer ball',
               OPENCV_LICENCE, 'a footballer kicking a ball; the ball is small in the frame'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/data/aloeL.jpg', 738, 'pot',
               OPENCV_LICENCE, 'an aloe in a clay flowerpot (Middlebury stereo "Aloe")'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/alphamat/input_images/plant.jpg',
               738, 'pot', OPENCV_LICENCE, 'a leafy plant in a flowerpot',
               name='alphamat_plant.jpg'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/hfs/data/000.jpg', 15, 'robin',
               OPENCV_LICENCE,
               'a European robin (ImageNet\'s robin is the American one: nearest class)',
               name='hfs_robin.jpg'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/hfs/data/001.jpg', 975, 'lakeside',
               OPENCV_LICENCE, 'a lake with wooded shores', name='hfs_lake.jpg'),
    CheckImage('debian:opencv-doc', f'{OPENCV_DOC}/examples/dnn_superres/butterfly.png', 323,
               'monarch', OPENCV_LICENCE, 'close-up of a monarch butterfly\'s wing',
               name='superres_butterfly.png'),
)


def python_package_dir(name: str) -> Optional[Path]:
    """Folder of an installed Python package (without importing it), or None."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def python_version(name: str) -> str:
    """Distribution name and version of an import name, e.g. ``'scikit-image 0.26.0'``."""
    dists = importlib.metadata.packages_distributions().get(name, [name])
    try:
        return f'{dists[0]} {importlib.metadata.version(dists[0])}'
    except importlib.metadata.PackageNotFoundError:
        return dists[0]


def debian_version(package: str, root: Path) -> str:
    """Package and version from ``changelog.Debian.gz`` below ``root`` (installed or unpacked)."""
    changelog = root / 'usr/share/doc' / package / 'changelog.Debian.gz'
    if not changelog.is_file():
        return f'{package} (version unknown)'
    with gzip.open(changelog, 'rt', encoding='utf-8') as f:
        first = f.readline()  # "opencv (4.6.0+dfsg-12) unstable; urgency=medium"
    version = first.split('(', 1)[1].split(')', 1)[0] if '(' in first else 'unknown'
    return f'{package} {version}'


def locate(image: CheckImage, debian_root: Path) -> Tuple[Optional[Path], str]:
    """The file of ``image`` on this machine (None if absent) and its package with version."""
    kind, package = image.source.split(':', 1)
    if kind == 'python':
        folder = python_package_dir(package)
        path = None if folder is None else folder / image.path
        return (path if path is not None and path.is_file() else None), python_version(package)
    if kind == 'debian':
        path = debian_root / image.path
        return (path if path.is_file() else None), debian_version(package, debian_root)
    raise ValueError(f'{image.file_name}: unknown source kind {kind!r}')


def check_labels(images: Tuple[CheckImage, ...]) -> None:
    """Raise ValueError if an index does not name the class written beside it."""
    from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
    for image in images:
        actual = IMAGENET_CATEGORIES[image.label].split(',')[0]
        if actual != image.class_name:
            raise ValueError(f'{image.file_name}: class {image.label} is {actual!r}, '
                             f'not {image.class_name!r}')


def readme(rows: List[Tuple[CheckImage, str, int]]) -> str:
    """Markdown provenance table of the written images."""
    lines = ['# ImageNet check set', '',
             'Real photos shipped inside installable packages, copied byte for byte by '
             '`tools/build_check_set.py`; labels are ImageNet-1k class indices chosen from the '
             "photos' content (see the notes). Not ImageNet data; a sanity check of a "
             'classifier, not a benchmark.', '',
             '| file | package | path in package | licence | class | note |',
             '| --- | --- | --- | --- | --- | --- |']
    for image, version, _ in rows:
        lines.append(f'| {image.file_name} | {version} | {image.path} | {image.licence} | '
                     f'{image.label} {image.class_name} | {image.note} |')
    total = sum(size for _, _, size in rows)
    lines += ['', f'{len(rows)} images, {total / 1e6:.2f} MB.', '']
    return '\n'.join(lines)


def build_check_set(out: Path,
                    debian_root: Path = Path('/'),
                    skip_missing: bool = False,
                    force: bool = False) -> List[CheckImage]:
    """Copy the check set's images to ``out`` and write ``meta/val.txt`` and ``README.md``.

    Args:
        out (Path): Output folder.
        debian_root (Path): Where Debian packages' files are: ``/`` when installed, or the
            folder given to ``dpkg-deb -x``. Defaults to ``/``.
        skip_missing (bool): Leave out images whose package is absent instead of failing.
            Defaults to False.
        force (bool): Write into an existing, non-empty ``out``. Defaults to False.

    Returns:
        list[CheckImage]: The images written, in ``val.txt`` order.

    Raises:
        FileExistsError: If ``out`` is not empty and ``force`` is False.
        FileNotFoundError: If images are missing and ``skip_missing`` is False (the message
            names the packages to install), or if none at all is found.
    """
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f'{out} exists and is not empty; pass --force to write into it')
    check_labels(CHECK_SET)
    found, missing = [], []
    for image in CHECK_SET:
        path, version = locate(image, debian_root)
        (found if path is not None else missing).append((image, path, version))
    if missing and not skip_missing:
        sources = sorted({image.source for image, _, _ in missing})
        raise FileNotFoundError(
            f'{len(missing)} images not found ({", ".join(i.file_name for i, _, _ in missing)}); '
            f'install {", ".join(sources)} (Debian ones: apt-get install, or dpkg-deb -x the .deb '
            f'and pass --debian-root, now {debian_root}), or pass --skip-missing')
    if not found:
        raise FileNotFoundError('none of the check images was found')
    (out / 'val').mkdir(parents=True, exist_ok=True)
    (out / 'meta').mkdir(exist_ok=True)
    rows = []
    for image, path, version in found:
        shutil.copyfile(path, out / 'val' / image.file_name)
        rows.append((image, version, path.stat().st_size))
    (out / 'meta' / 'val.txt').write_text(
        ''.join(f'{image.file_name} {image.label}\n' for image, _, _ in found))
    (out / 'README.md').write_text(readme(rows))
    return [image for image, _, _ in found]
