"""Export a trained DenoisingCascade as the unchanged task model with the denoiser as its data
preprocessor, for mmseg's / mmpretrain's own tools and inferencers.

Usage::

    python tools/deployment/export_cascade.py CONFIG CHECKPOINT OUT_DIR [--name NAME]
        [--keep-test-noise] [--force]

Writes ``OUT_DIR/NAME.py`` (config), ``NAME.pth`` (the task model's checkpoint) and
``NAME_denoiser.pth`` (the denoiser, named by the config relative to its folder), e.g.::

    python tools/deployment/export_cascade.py configs/cascade/fastscnn_denoise_camvid_cpu.py \
        work_dirs/fastscnn_denoise_camvid_cpu deploy/
    python -c "from mmseg.apis import MMSegInferencer; \
        print(MMSegInferencer('deploy/fastscnn_denoise_camvid_cpu.py', \
        'deploy/fastscnn_denoise_camvid_cpu.pth', device='cpu')('photo.png')['predictions'])"
"""
import argparse
import sys

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.apis import export_cascade


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='the cascade config (path or mmsemdenoise::folder/x.py)')
    parser.add_argument('checkpoint', help='the cascade checkpoint, or its work dir')
    parser.add_argument('out_dir', help='folder for NAME.py, NAME.pth, NAME_denoiser.pth')
    parser.add_argument('--name', help='base name of the outputs (default: the config name)')
    parser.add_argument('--keep-test-noise', action='store_true',
                        help="keep the cascade's seeded test noise (to reproduce its evaluation "
                        'on synthetic noise); default: inputs are taken as they are')
    parser.add_argument('--force', action='store_true', help='replace existing outputs')
    args = parser.parse_args()
    try:
        paths = export_cascade(args.config, args.checkpoint, args.out_dir, args.name,
                               args.keep_test_noise, args.force)
    except (FileExistsError, FileNotFoundError, KeyError, ValueError) as err:
        print(f'error: {err.args[0] if err.args else err}', file=sys.stderr)
        return 1
    for what, path in paths.items():
        print(f'{what}: {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
