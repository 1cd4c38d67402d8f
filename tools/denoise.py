"""Denoise an image file or a folder of images with a trained denoiser.

Outputs go to a separate folder as PNG files of the same names; inputs are never modified, and
existing outputs are kept unless --force.

Usage:
    python tools/denoise.py CONFIG CHECKPOINT INPUT OUT_DIR [--noise-level 25]
                            [--add-noise 25] [--tile 512] [--overlap 32] [--device cuda]
"""
import argparse
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.apis import denoise_image, load_denoiser
from mmsemdenoise.datasets import IMG_EXTENSIONS
from mmsemdenoise.models.noise import image_seed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Denoise an image or a folder of images')
    parser.add_argument('config', help='config whose model.denoiser is the network')
    parser.add_argument('checkpoint', help='cascade checkpoint or converted denoiser weights')
    parser.add_argument('input', help='an image file or a folder of images')
    parser.add_argument('out_dir', help='output folder (must not be the input folder)')
    parser.add_argument('--noise-level', type=float,
                        help='sigma (0-255) given to networks that take it (FFDNet)')
    parser.add_argument('--add-noise', type=float,
                        help='first add Gaussian noise of this sigma (0-255), seeded per file, '
                        'and also write the noisy image (<name>_noisy.png)')
    parser.add_argument('--tile', type=int, help='tile side for large images (default: whole)')
    parser.add_argument('--overlap', type=int, default=32, help='tile overlap in pixels')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--force', action='store_true', help='overwrite existing outputs')
    return parser.parse_args()


def list_images(path: Path) -> list:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f'input not found: {path}')
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMG_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f'no images ({", ".join(IMG_EXTENSIONS)}) in {path}')
    return files


def add_noise(rgb: np.ndarray, sigma: float, key: str) -> np.ndarray:
    rng = np.random.default_rng(image_seed(key, 0))
    noisy = rgb.astype(np.float64) + rng.normal(0, sigma, rgb.shape)
    return np.clip(noisy.round(), 0, 255).astype(np.uint8)


def main() -> None:
    args = parse_args()
    src, out_dir = Path(args.input).resolve(), Path(args.out_dir).resolve()
    files = list_images(src)
    if out_dir in {p.parent for p in files}:
        raise ValueError(f'output folder {out_dir} holds the inputs: choose another folder')
    out_dir.mkdir(parents=True, exist_ok=True)
    denoiser = load_denoiser(args.config, args.checkpoint, args.device)
    level = args.noise_level if args.noise_level is not None else args.add_noise
    written = skipped = 0
    for path in tqdm(files, desc='denoising', unit='img'):
        target = out_dir / f'{path.stem}.png'
        if target.exists() and not args.force:
            skipped += 1
            continue
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f'cannot read image {path}')
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if args.add_noise:
            rgb = add_noise(rgb, args.add_noise, path.name)
            cv2.imwrite(str(out_dir / f'{path.stem}_noisy.png'), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        result = denoise_image(denoiser, rgb, level, args.tile, args.overlap)
        cv2.imwrite(str(target), cv2.cvtColor(result, cv2.COLOR_RGB2BGR))
        written += 1
    print(f'wrote {written} image(s) to {out_dir}' +
          (f'; kept {skipped} existing (use --force to overwrite)' if skipped else ''))


if __name__ == '__main__':
    main()
