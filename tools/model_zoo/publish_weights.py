"""Ship a trained model in the package: float16 weights + SHA256SUMS line (mmsemdenoise://NAME).

Usage::

    python tools/model_zoo/publish_weights.py work_dirs/three-scale_bsd400_blind_cpu-2h \
        three-scale_blind_bsd400                      # keeps the denoiser.* keys
    python tools/model_zoo/publish_weights.py work_dirs/fastscnn_camvid-180x240_cpu \
        fastscnn_camvid-180x240 --keep-prefix ''      # a task model: every key

Then add the model's entry (config, weights name, sha256, results) to its folder's metafile.yml,
count its Parameters and FLOPs (``python tools/model_zoo/check_metafile.py --count``) and
regenerate the folder README (``python tools/model_zoo/generate_readme.py``).
"""
import argparse
import sys

from mmsemdenoise.utils.model_zoo import export_shipped_weights


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='checkpoint file or work dir (its last checkpoint)')
    parser.add_argument('name', help='shipped name, e.g. three-scale_blind_bsd400')
    parser.add_argument('--keep-prefix', default='denoiser.',
                        help="keep keys under this prefix ('' keeps all); default: denoiser.")
    parser.add_argument('--force', action='store_true', help='replace shipped weights of that name')
    args = parser.parse_args()
    try:
        out = export_shipped_weights(args.checkpoint, args.name, args.keep_prefix or None,
                                     force=args.force)
    except (FileExistsError, FileNotFoundError, KeyError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {out["path"]} (sha256 {out["sha256"]})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
