"""benchmarks/joint_step.py at a tiny size on a generated CamVid: every row, no waste found."""
import runpy
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def joint_step():
    return runpy.run_path(str(REPO_ROOT / 'benchmarks' / 'joint_step.py'),
                          run_name='benchmarks.joint_step')


@pytest.mark.parametrize('case', ['fastscnn-camvid', 'deeplabv3-512'])
def test_joint_step_tiny(case, joint_step, make_camvid, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # the cases name their configs from the repository root
    root = make_camvid(tmp_path / 'CamVid', n_train=2, n_val=1, size=(48, 64))
    results = joint_step['main'](['--case', case, '--camvid', str(root), '--size', '64', '64',
                                  '--batch', '2', '--repeats', '1',
                                  '--dtypes', 'float32', 'bfloat16'])[case]
    out = capsys.readouterr().out
    for label in [*joint_step['LABELS'].values(), 'joint / (stage1 + task_grad)',
                  'optimizer state, joint', 'frozen task parameters with .grad']:
        assert label in out, f'{label!r} missing from the output:\n{out}'
    checks = results['checks']
    for key in ('frozen task parameters with requires_grad',
                'frozen task parameters with .grad after the joint step'):
        assert checks[key].startswith('0 of '), (key, checks[key])
    assert checks['frozen task parameters in the optimizer'].startswith('0 (it holds ')
    assert checks['frozen task parameters with optimizer state'] == '0'
    n = checks['denoiser parameters with optimizer state'].split(' of ')
    assert n[0] == n[1] and int(n[0]) > 0
    assert checks['task model in eval mode after the joint step'] == 'True'
    peaks, times = results['peaks'], results['times']
    for dtype in ('float32', 'bfloat16'):
        assert all(v > 0 for v in times['joint', dtype])
        # the joint step holds the denoiser's activations and the task model's
        assert peaks['joint', dtype] > peaks['stage1', dtype] > 0
        assert peaks['joint', dtype] > peaks['task_grad', dtype] > 0
        assert 0 < results['ratio'][dtype] < 10
