"""The model zoo's files: every metafile follows OpenMMLab's rules (counted Parameters and FLOPs
included), each generated README is what its metafiles say, and openmim sees every model with its
figures."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _models() -> list:
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    return [model for path in index['Import']
            for model in yaml.safe_load((REPO / path).read_text())['Models']]


def test_metafiles_follow_the_rules(load_tool):
    tool = load_tool('model_zoo/check_metafile')
    assert tool.check_all() == []
    assert tool.main([]) == 0


def test_the_rules_catch_broken_entries(load_tool, tmp_path):
    """A copy of the repository's zoo files, broken one way at a time."""
    tool = load_tool('model_zoo/check_metafile')
    root = tmp_path / 'repo'
    root.mkdir()
    for item in ('model-index.yml', 'configs', 'tools'):
        (shutil.copytree if (REPO / item).is_dir() else shutil.copy)(REPO / item, root / item)
    shutil.copytree(REPO / 'mmsemdenoise' / 'weights', root / 'mmsemdenoise' / 'weights')
    assert tool.check_all(root) == []

    dncnn = root / 'configs/denoise/official/dncnn/metafile.yml'
    data = yaml.safe_load(dncnn.read_text())
    model = data['Models'][0]
    del model['Metadata']['FLOPs']
    model['Results'][0]['Dataset'] = ['CBSD68']
    del model['Converted From']['Command']
    data['Collections'][0]['README'] = 'configs/denoise/NOPE.md'
    dncnn.write_text(yaml.safe_dump(data))
    errors = '\n'.join(tool.check_all(root))
    for message in ('cdncnn-b_3rdparty_cbsd432: Metadata.FLOPs must be an integer',
                    'Dataset (a string)', 'Converted From lacks Command',
                    "README 'configs/denoise/NOPE.md' does not exist"):
        assert message in errors
    index = yaml.safe_load((root / 'model-index.yml').read_text())
    index['Import'].remove('configs/task_models/metafile.yml')
    (root / 'model-index.yml').write_text(yaml.safe_dump(index))
    assert 'configs/task_models/metafile.yml is not imported' in '\n'.join(tool.check_all(root))

    weights = root / 'mmsemdenoise' / 'weights' / 'three-scale_blind_bsd400.pth'
    weights.write_bytes(weights.read_bytes()[:-4])
    assert 'missing or not what SHA256SUMS says' in '\n'.join(tool.check_all(root))


def test_metafile_sha256_is_the_shipped_files(load_tool):
    """Derived from SHA256SUMS and the files, so replaced weights need only their new entry."""
    from mmsemdenoise.utils import shipped_names, shipped_path
    from mmsemdenoise.utils.files import sha256_of
    shipped = {m['Weights'][len('mmsemdenoise://'):]: m for m in _models()
               if str(m.get('Weights', '')).startswith('mmsemdenoise://')}
    assert sorted(shipped) == shipped_names()
    for name, model in shipped.items():
        assert model['Metadata']['sha256'] == sha256_of(shipped_path(name))


@pytest.mark.slow
def test_parameters_and_flops_are_counted(load_tool):
    """Every model built (no weights) and counted at 3x256x256: what the metafiles say."""
    tool = load_tool('model_zoo/check_metafile')
    assert tool.recount() == []


def test_readmes_are_generated_from_the_metafiles(load_tool):
    tool = load_tool('model_zoo/generate_readme')
    readmes = tool.readmes()
    assert sorted(readmes) == ['configs/cascade/README.md', 'configs/denoise/README.md',
                              'configs/task_models/README.md']
    for readme, metafiles in readmes.items():
        assert (REPO / readme).read_text() == tool.generate(readme, metafiles), \
            f'{readme} is stale: run python tools/model_zoo/generate_readme.py'
    assert tool.main(['--check']) == 0
    text = (REPO / 'configs/denoise/README.md').read_text()
    for model in _models():
        assert f'`{model["Name"]}`' in ''.join(
            (REPO / readme).read_text() for readme in readmes)
    assert "get_model('three-scale_blind_bsd400')" in text
    assert 'python tools/denoise.py INPUT OUT_DIR --checkpoint three-scale_blind_bsd400' in text
    assert '@article{zhang2017beyond' in text


def test_mim_search_lists_every_model_with_its_figures(capsys):
    """What ``mim search mmsemdenoise`` prints: openmim's own reading and printing of this
    checkout's index (80 columns; a long result name would push every value out of them)."""
    pytest.importorskip('mim', reason='openmim is not installed (pip install openmim)')
    from mim.commands.search import convert2df, print_df
    from modelindex.load_model_index import load
    table = convert2df(load(str(REPO / 'model-index.yml')))
    names = [m['Name'] for m in _models()]
    assert sorted(table.index) == sorted(names)
    print_df(table, 80)
    printed = capsys.readouterr().out.split('config id: ')[1:]
    assert [block.split('\n')[0].split('\x1b')[0].strip() for block in printed] == names
    for model, block in zip(_models(), printed):
        expected = {'parameters': model['Metadata']['Parameters'],
                    'flops': model['Metadata']['FLOPs']}
        for result in model['Results']:
            for metric, value in result['Metrics'].items():
                expected[f'{result["Dataset"].lower()}/{"_".join(metric.lower().split())}'] = value
        lines = block.split('\n')[1:]
        for key, value in expected.items():
            shown = [line[len(key):].strip() for line in lines if line.startswith(key + '  ')]
            assert shown == [str(value)], (model['Name'], key, shown)


@pytest.mark.slow
def test_mim_commands_on_the_installed_package(tmp_path):
    """This checkout built and installed into a scratch folder (ahead of any other install on
    ``PYTHONPATH``): ``mim search`` shows every model; ``mim download`` of a shipped name ends in
    openmim 0.3.9's own TypeError, as the README says (shipped weights need no download)."""
    pytest.importorskip('mim', reason='openmim is not installed (pip install openmim)')
    source, target = tmp_path / 'source', tmp_path / 'site'
    for item in ('mmsemdenoise', 'configs', 'tools', 'model-index.yml', 'setup.py',
                 'pyproject.toml', 'README.md', 'MANIFEST.in'):
        copy = shutil.copytree if (REPO / item).is_dir() else shutil.copy
        kwargs = dict(ignore=shutil.ignore_patterns('__pycache__', '.mim')) \
            if (REPO / item).is_dir() else {}
        copy(REPO / item, source / item, **kwargs)
    env = dict(os.environ, PYTHONPATH=str(target), OMP_NUM_THREADS='1')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--no-build-isolation', '--target', str(target), str(source)],
                   check=True, env=env, capture_output=True, timeout=300)
    assert (target / 'mmsemdenoise/.mim/configs/denoise/official/dncnn/metafile.yml').is_file()

    search = subprocess.run([sys.executable, '-m', 'mim', 'search', 'mmsemdenoise'], env=env,
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert search.returncode == 0, search.stderr[-2000:]
    for model in _models():
        assert f'config id: {model["Name"]}' in search.stdout
        assert f'{model["Metadata"]["FLOPs"]}' in search.stdout
    download = subprocess.run([sys.executable, '-m', 'mim', 'download', 'mmsemdenoise',
                               '--config', 'three-scale_blind_bsd400', '--dest',
                               str(tmp_path / 'dl')], env=env, capture_output=True, text=True,
                              timeout=300, cwd=tmp_path)
    assert download.returncode != 0
    assert "No connection adapters were found for 'mmsemdenoise://three-scale_blind_bsd400'" \
        in download.stderr
    assert download.stderr.rstrip().endswith(
        'TypeError: exceptions must derive from BaseException')
