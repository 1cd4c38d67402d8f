"""Check the metafiles against OpenMMLab's model-zoo rules; recount parameters and FLOPs.

Usage::

    python tools/model_zoo/check_metafile.py              # the rules, every metafile
    python tools/model_zoo/check_metafile.py --count      # also recount Parameters and FLOPs

The rules are those of mmpretrain's ``.dev_scripts/check_metafile.py``, made strict: every
``metafile.yml`` under ``configs/`` is imported by ``model-index.yml`` and holds one collection
with ``Name``, ``Paper`` (``Title``, ``URL``) and an existing ``README``; every model has a unique
lower-case ``Name``, ``In Collection``, an existing ``Config``, ``Metadata.Parameters`` and
``Metadata.FLOPs`` (integers), ``Results`` whose ``Dataset`` is a string; shipped weights
(``mmsemdenoise://<name>``) are listed in ``mmsemdenoise/weights/SHA256SUMS`` and their
``Metadata.sha256`` is that of the file; converted weights have ``3rdparty`` in the name and
``Converted From`` with ``Weights``, ``Code`` and the conversion ``Command`` (a tool of this
repository), and the other way round.

FLOPs are multiply-accumulates of one 3x256x256 input, counted by mmengine's
``get_model_complexity_info`` (as mmpretrain's ``tools/analysis_tools/get_flops.py``); Parameters
are all parameters of the model :func:`mmsemdenoise.apis.model_zoo.get_model` returns (the
denoiser network, or the whole task model).
"""
import argparse
import os.path as osp
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from mmsemdenoise.utils.files import sha256_of

REPO = Path(__file__).resolve().parents[2]
SCHEME = 'mmsemdenoise://'
#: Input of the FLOPs count: (channels, height, width).
FLOPS_INPUT = (3, 256, 256)


def read_yaml(path: Path) -> dict:
    with open(path) as f:
        return yaml.safe_load(f) or {}


def shipped_sums(root: Path = REPO) -> Dict[str, str]:
    """``{name: sha256}`` of ``mmsemdenoise/weights/SHA256SUMS``."""
    path = root / 'mmsemdenoise' / 'weights' / 'SHA256SUMS'
    lines = path.read_text().split('\n') if path.is_file() else []
    return {Path(parts[1]).stem: parts[0] for parts in (line.split() for line in lines) if parts}


def check_collection(data: dict, root: Path) -> List[str]:
    """Errors of a metafile's ``Collections``."""
    collections = data.get('Collections') or []
    if len(collections) != 1:
        return [f'one collection per metafile, found {len(collections)}']
    collection, errors = collections[0], []
    if not collection.get('Name'):
        errors.append('the collection has no Name')
    readme = collection.get('README')
    if not readme or not (root / readme).is_file():
        errors.append(f'the collection README {readme!r} does not exist')
    paper = collection.get('Paper')
    if not isinstance(paper, dict) or not paper.get('Title') or not paper.get('URL'):
        errors.append('the collection has no Paper with Title and URL')
    return errors


def check_model(model: dict, collection: str, root: Path, sums: Dict[str, str]) -> List[str]:
    """Errors of one ``Models`` entry."""
    name = str(model.get('Name', ''))
    where = name or '<model without Name>'
    errors = []
    if not name or name != name.lower() or ' ' in name:
        errors.append(f'{where}: Name must be lower case without spaces')
    if model.get('In Collection') != collection:
        errors.append(f'{where}: In Collection is not {collection!r}')
    config = model.get('Config')
    if not config or not (root / config).is_file():
        errors.append(f'{where}: Config {config!r} does not exist')
    metadata = model.get('Metadata') or {}
    for key in ('Parameters', 'FLOPs'):
        if not isinstance(metadata.get(key), int):
            errors.append(f'{where}: Metadata.{key} must be an integer (--count counts it)')
    results = model.get('Results') or []
    if not results:
        errors.append(f'{where}: no Results')
    for result in results:
        if not isinstance(result.get('Dataset'), str) or not result.get('Task') or \
                not result.get('Metrics'):
            errors.append(f'{where}: each result needs Task, Dataset (a string) and Metrics')
    weights = str(model.get('Weights') or '')
    if weights.startswith(SCHEME):
        shipped = weights[len(SCHEME):]
        file = root / 'mmsemdenoise' / 'weights' / f'{shipped}.pth'
        if shipped != name:
            errors.append(f'{where}: shipped weights {weights} are not named after the model')
        if shipped not in sums:
            errors.append(f'{where}: {shipped}.pth is not in mmsemdenoise/weights/SHA256SUMS')
        elif metadata.get('sha256') != sums[shipped]:
            errors.append(f'{where}: Metadata.sha256 differs from SHA256SUMS')
        elif not file.is_file() or sha256_of(str(file)) != sums[shipped]:
            errors.append(f'{where}: {file} is missing or not what SHA256SUMS says')
    converted = model.get('Converted From')
    if ('3rdparty' in name) != bool(converted):
        errors.append(f'{where}: converted weights need both 3rdparty in the name and '
                      'Converted From')
    if converted:
        missing = [key for key in ('Weights', 'Code', 'Command') if not converted.get(key)]
        if missing:
            errors.append(f'{where}: Converted From lacks {", ".join(missing)}')
        command = shlex.split(str(converted.get('Command', '')))
        if len(command) < 2 or command[0] != 'python' or not (root / command[1]).is_file():
            errors.append(f'{where}: Converted From.Command must be python tools/<converter>')
    return errors


def check_all(root: Path = REPO) -> List[str]:
    """Every rule over ``<root>/model-index.yml`` and the metafiles; [] when all hold."""
    imported = read_yaml(root / 'model-index.yml').get('Import', [])
    found = sorted(str(p.relative_to(root)) for p in (root / 'configs').rglob('metafile.yml'))
    errors = [f'{path} is not imported by model-index.yml' for path in found
              if path not in imported]
    errors += [f'model-index.yml imports {path}, which does not exist' for path in imported
               if not (root / path).is_file()]
    sums, names = shipped_sums(root), set()
    for path in imported:
        if not (root / path).is_file():
            continue
        if osp.basename(path) != 'metafile.yml':
            errors.append(f'{path}: a metafile is named metafile.yml')
        data = read_yaml(root / path)
        errors += [f'{path}: {e}' for e in check_collection(data, root)]
        collection = ((data.get('Collections') or [{}])[0]).get('Name')
        for model in data.get('Models') or []:
            errors += [f'{path}: {e}' for e in check_model(model, collection, root, sums)]
            if model.get('Name') in names:
                errors.append(f'{path}: the name {model.get("Name")} is used twice')
            names.add(model.get('Name'))
    return errors


def count_complexity(name: str) -> Tuple[int, int]:
    """``(parameters, FLOPs)`` of a zoo model, built without weights, for one
    :data:`FLOPS_INPUT` image (FFDNet with its noise-level input at sigma 25)."""
    import torch
    from mmengine.analysis import get_model_complexity_info

    from mmsemdenoise.apis.model_zoo import get_model
    model = get_model(name, pretrained=False)
    params = sum(p.numel() for p in model.parameters())
    image = torch.rand(1, *FLOPS_INPUT)
    inputs = (image, torch.full((1, ), 25 / 255)) if type(model).__name__ == 'FFDNet' \
        else (image, )
    with torch.no_grad():
        info = get_model_complexity_info(model, inputs=inputs, show_table=False,
                                         show_arch=False)
    return params, int(info['flops'])


def recount(root: Path = REPO) -> List[str]:
    """Differences between the metafiles' Parameters / FLOPs and counted ones (printed)."""
    differences = []
    for path in read_yaml(root / 'model-index.yml').get('Import', []):
        for model in read_yaml(root / path).get('Models') or []:
            params, flops = count_complexity(model['Name'])
            metadata = model.get('Metadata') or {}
            print(f'{model["Name"]}: Parameters {params}, FLOPs {flops}')
            if (metadata.get('Parameters'), metadata.get('FLOPs')) != (params, flops):
                differences.append(f'{path}: {model["Name"]}: counted Parameters {params}, '
                                   f'FLOPs {flops}; the metafile says '
                                   f'{metadata.get("Parameters")}, {metadata.get("FLOPs")}')
    return differences


def main(argv: Optional[List[str]] = None) -> int:
    """Print every broken rule (and count difference); exit status 1 if there is one."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--count', action='store_true',
                        help='also recount Parameters and FLOPs (builds every model)')
    args = parser.parse_args(argv)
    errors = check_all()
    if args.count:
        errors += recount()
    for error in errors:
        print(f'error: {error}', file=sys.stderr)
    if not errors:
        print('the metafiles follow the rules')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
