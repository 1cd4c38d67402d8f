"""Denoise image files into another folder: what ``tools/denoise.py`` does.

Each file is read upright at its bit depth (:mod:`.image_io`), denoised with its grey/colour
layout and alpha kept (:func:`~.inference.denoise_array`, tiled above ``tile`` pixels a side) and
written atomically under the same name (JPEGs as PNG). A file that fails is reported by name and
skipped; the others are still written: also a symlink loop, a dangling link or an unreadable
entry among the inputs or at an output's name, an image whose header claims more than
``max_pixels``, and a network output that is not finite (never written). Inputs are never written
to, existing outputs are kept unless ``force``, and temporary files a killed run left in the
output folder are removed at the start.
"""
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from tqdm import tqdm

from mmsemdenoise.datasets.clean_image_folder import IMG_EXTENSIONS
from mmsemdenoise.models.noise import GaussianNoise
from mmsemdenoise.models.noise.functional import image_seed
from mmsemdenoise.utils.atomic_files import remove_stale_temp_files
from mmsemdenoise.utils.images import DEFAULT_MAX_PIXELS, path_problem
from .image_io import Photo, output_name, read_photo, write_photo
from .inference import denoise_array

#: Images with a side longer than this are denoised in overlapping tiles of this side.
DEFAULT_TILE = 512
#: Base seed of the added noise: the cascade's default ``eval_seed``, the sweep's.
EVAL_SEED = 0
DEFAULT_OVERLAP = 64


@dataclass
class DenoiseReport:
    """What :func:`denoise_files` did: outputs written, inputs whose output existed (kept), and
    inputs that failed with the reason."""
    written: List[Path] = field(default_factory=list)
    kept: List[Path] = field(default_factory=list)
    failed: Dict[Path, str] = field(default_factory=dict)


def list_images(path: Union[str, Path]) -> List[Path]:
    """An image file as given (any suffix), or the images of a folder (not recursive, sorted).

    Raises:
        FileNotFoundError: If ``path`` does not exist or a folder holds no image.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f'input not found: {path}')
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMG_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f'no images ({", ".join(IMG_EXTENSIONS)}) in {path}')
    return files


def check_sigma(sigma: Optional[float], what: str = 'noise level') -> None:
    """Refuse a sigma that is not a finite number >= 0 (NaN would give black images).

    Raises:
        ValueError: Naming ``what`` and the value.
    """
    if sigma is not None and not (isinstance(sigma, numbers.Real) and math.isfinite(sigma)
                                  and sigma >= 0):
        raise ValueError(f'{what} must be a finite number >= 0 (sigma on the 0-255 scale), '
                         f'got {sigma!r}')


def add_noise(pixels: np.ndarray, sigma: float, key: str) -> np.ndarray:
    """Add the sweep's Gaussian noise of ``sigma`` to an image, rounded and clipped.

    The package's :class:`~mmsemdenoise.models.noise.GaussianNoise` on the image as the cascade
    sees it, float32 in [0, 1] channel-first, seeded as the sweep seeds an image: from its file
    name ``key`` and :data:`EVAL_SEED` (:func:`~mmsemdenoise.models.noise.functional.image_seed`,
    the key the cascade takes from a data sample without ``img_id``). The same RGB photo and
    sigma give the sweep's noisy pixels, rounded to the file's depth.

    Args:
        pixels (np.ndarray): (H, W) grey or (H, W, C) colour (RGB), uint8 or uint16.
        sigma (float): Standard deviation on the 0-255 scale of the full range.
        key (str): The file name.

    Returns:
        np.ndarray: The noisy image, same shape and dtype.
    """
    check_sigma(sigma, 'the added noise\'s sigma')
    peak = float(np.iinfo(pixels.dtype).max)
    chw = torch.from_numpy(np.ascontiguousarray(pixels.astype(np.float32)))
    chw = chw[None] if chw.dim() == 2 else chw.permute(2, 0, 1)
    clean = chw[None] / peak  # as PixelPreprocessor: float32 division
    noisy, _ = GaussianNoise(sigma=sigma)(clean, seeds=[image_seed(key, EVAL_SEED)])
    noisy = noisy[0].permute(1, 2, 0) if pixels.ndim == 3 else noisy[0, 0]
    return (noisy.clamp(0, 1) * peak).round().numpy().astype(pixels.dtype)


def _resolve(path: Path) -> Optional[Path]:
    """``path.resolve()``, or None for a symlink loop (Python < 3.13 raises RuntimeError)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return None


def _plan(files: Sequence[Path], out_dir: Path, noisy: bool,
          failed: Dict[Path, str]) -> Dict[Path, List[Path]]:
    """Output paths of each input (denoised first, then the noisy copy); inputs whose outputs
    another input already claims go to ``failed``."""
    resolved = {p: _resolve(p) for p in files}
    for path, real in resolved.items():  # symlink loops, dangling links, unreadable entries
        problem = path_problem(path) or (None if real is not None else 'symlink loop')
        if problem:
            failed[path] = problem
    files = [p for p in files if p not in failed]
    inputs = {resolved[p] for p in files}
    out_real = _resolve(out_dir)
    if out_real is None:
        raise ValueError(f'output folder {out_dir}: symlink loop')
    if out_real in {p.parent for p in inputs}:
        raise ValueError(f'output folder {out_dir} holds the inputs: choose another folder')
    claimed: Dict[Path, Path] = {}
    plan = {}
    for path in files:
        name = Path(output_name(path))
        targets = [out_dir / name]
        if noisy:
            targets.append(out_dir / f'{name.stem}_noisy{name.suffix}')
        loop = next((t for t in targets if _resolve(t) is None), None)
        if loop is not None:
            failed[path] = f'its output {loop} is a symlink loop: remove it'
            continue
        clash = next((t for t in targets if t in claimed or _resolve(t) in inputs), None)
        if clash is not None:
            owner = claimed.get(clash, clash)
            failed[path] = f'its output {clash.name} is also that of {owner}: rename one of them'
            continue
        claimed.update({t: path for t in targets})
        plan[path] = targets
    return plan


def denoise_files(denoiser: nn.Module,
                  files: Sequence[Union[str, Path]],
                  out_dir: Union[str, Path],
                  noise_level: Optional[float] = None,
                  add_noise_sigma: Optional[float] = None,
                  tile: Optional[int] = DEFAULT_TILE,
                  overlap: int = DEFAULT_OVERLAP,
                  force: bool = False,
                  log: Callable[[str], None] = tqdm.write,
                  progress: bool = True,
                  max_pixels: Optional[int] = DEFAULT_MAX_PIXELS) -> DenoiseReport:
    """Denoise image files into ``out_dir``, one failure never stopping the others.

    Args:
        denoiser (nn.Module): From :func:`~.inference.load_denoiser`.
        files (Sequence[str | Path]): Input images (e.g. from :func:`list_images`).
        out_dir (str | Path): Output folder, created if missing; must not hold the inputs.
        noise_level (float, optional): sigma (0-255) given to networks that take it (FFDNet);
            defaults to ``add_noise_sigma``. Defaults to None.
        add_noise_sigma (float, optional): First add Gaussian noise of this sigma (the sweep's:
            :func:`add_noise`, seeded by the file name) and also write the noisy image as
            ``<name>_noisy<suffix>``.
            Defaults to None.
        tile (int, optional): Tile side for images with a longer side; None or 0: whole images.
            Defaults to :data:`DEFAULT_TILE`.
        overlap (int): Pixels shared by neighbouring tiles. Defaults to :data:`DEFAULT_OVERLAP`.
        force (bool): Replace existing outputs. Defaults to False.
        log (Callable[[str], None]): Where each failure is reported as it happens.
            Defaults to ``tqdm.write`` (stdout, above the progress bar).
        progress (bool): Show a progress bar (stderr). Defaults to True.
        max_pixels (int, optional): Images whose header claims more pixels fail before they
            are decoded (None or 0: no limit). Defaults to 200 MP.

    Returns:
        DenoiseReport: Written, kept and failed files.

    Raises:
        ValueError: If ``out_dir`` holds the inputs, a noise level is not a finite number >= 0,
            or the network needs a noise level and none is given.
        OSError: If ``out_dir`` cannot be created (a file there, no permission).
    """
    files = [Path(p) for p in files]
    out_dir = Path(out_dir)
    check_sigma(noise_level, 'noise_level (--noise-level)')
    check_sigma(add_noise_sigma, 'add_noise_sigma (--add-noise)')
    level = noise_level if noise_level is not None else add_noise_sigma
    if level is None and getattr(denoiser, 'needs_noise_level', False):
        raise ValueError(f'{type(denoiser).__name__} is non-blind: give the noise level '
                         '(--noise-level SIGMA, 0-255)')
    report = DenoiseReport()
    plan = _plan(files, out_dir, add_noise_sigma is not None, report.failed)
    for path, reason in report.failed.items():
        log(f'FAILED {path}: {reason}')
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(out_dir)
    for path, targets in tqdm(plan.items(), desc='denoising', unit='img', disable=not progress):
        missing = [t for t in targets if force or not t.is_file()]  # a folder there fails
        if not missing:
            report.kept.append(path)
            continue
        try:
            pixels, alpha = read_photo(path, max_pixels)
            photos = []
            if add_noise_sigma is not None:
                pixels = add_noise(pixels, add_noise_sigma, path.name)
                photos.append(Photo(pixels, alpha))
            photos.insert(0, Photo(denoise_array(denoiser, pixels, level, tile, overlap), alpha))
            for target, photo in zip(targets, photos):
                if target in missing:  # a noisy copy already there is the same (seeded)
                    write_photo(target, photo, force)
        except Exception as e:  # noqa: BLE001 -- reported by name, the other files go on
            report.failed[path] = f'{type(e).__name__}: {e}'
            log(f'FAILED {path}: {report.failed[path]}')
            continue
        report.written.append(path)
    return report
