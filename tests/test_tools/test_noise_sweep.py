"""tools/analysis/noise_sweep.py end to end, and the classical denoiser it uses as a baseline.

The sweep runs through the real command line on a tiny CamVid-layout folder the test writes, with
the shipped CamVid cascade config (real Fast-SCNN, real mmengine Runner and metrics, CPU); the
task model and the denoisers are freshly initialised and saved as checkpoints by the test.
"""
import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]

from mmsemdenoise.analysis.sweep_report import add_recovered_fraction
from mmsemdenoise.models.denoisers.classical import ClassicalDenoiser

CONFIG = 'configs/cascade/fastscnn_denoise_camvid_cpu.py'
TOOL = str(REPO / 'tools/analysis/noise_sweep.py')


def _psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / (x.clamp(0, 1) - y).pow(2).mean()))


def _smooth_image(size: int = 48) -> torch.Tensor:
    """(1, 3, size, size) in [0.2, 0.8]: low-frequency waves, one phase per channel."""
    u = torch.arange(size, dtype=torch.float64) * 2 * math.pi / size
    channels = [0.5 + 0.3 * torch.sin(u[:, None] + p) * torch.cos(u[None, :] - p)
                for p in (0.0, 1.0, 2.0)]
    return torch.stack(channels)[None].float()


@pytest.mark.parametrize('method', ['nlm', 'bm3d'])
@pytest.mark.parametrize('given_sigma', [True, False])
def test_classical_denoiser_reduces_noise(method, given_sigma):
    if method == 'bm3d':
        pytest.importorskip('bm3d', reason='the optional bm3d package is not installed')
    clean = _smooth_image()
    generator = torch.Generator().manual_seed(0)
    noisy = (clean + 25 / 255 * torch.randn(clean.shape, generator=generator)).requires_grad_()
    level = torch.tensor([25 / 255]) if given_sigma else None
    out = ClassicalDenoiser(method)(noisy, level)
    assert out.shape == clean.shape and out.dtype == clean.dtype and not out.requires_grad
    before, after = _psnr(noisy.detach(), clean), _psnr(out, clean)
    assert after > before + 5, (before, after)


def test_classical_denoiser_interface():
    clean = _smooth_image(16).repeat(2, 1, 1, 1)
    denoiser = ClassicalDenoiser('nlm')
    assert list(denoiser.parameters()) == []
    # sigma 0: nothing to remove, the image comes back unchanged
    assert torch.equal(denoiser(clean, torch.zeros(2)), clean)
    # channels-last, double precision: same layout-independent values, dtype kept
    out = denoiser(clean.double().contiguous(memory_format=torch.channels_last),
                   torch.full((2, ), 0.1))
    assert out.dtype == torch.float64 and out.shape == clean.shape
    with pytest.raises(ValueError, match='one sigma per image'):
        denoiser(clean, torch.zeros(3))
    with pytest.raises(ValueError, match=r"unknown classical denoising method 'wiener'"):
        ClassicalDenoiser('wiener')


def _same(a: float, b: float) -> bool:
    """Equal, NaN included (R is NaN where clean and noisy do not differ)."""
    return a == b or (math.isnan(a) and math.isnan(b))


def _save_denoisers(tmp_path: Path) -> tuple:
    """An 8-channel paper's net: as a cascade checkpoint that carries its architecture
    (``meta['model_cfg']``) and as a bare state dict, which carries none (the sweep builds it as
    the config's ``model.denoiser``, see :func:`_options`)."""
    from mmsemdenoise.apis import load_denoiser
    architecture = dict(type='ThreeScaleDenoiser', base_channels=8)
    state = load_denoiser(architecture).state_dict()
    cascade, bare = tmp_path / 'stage1.pth', tmp_path / 'bare.pth'
    torch.save({'state_dict': {f'denoiser.{k}': v for k, v in state.items()},
                'meta': {'model_cfg': architecture}}, cascade)
    torch.save(state, bare)
    return str(cascade), str(bare)


def _options(data: Path) -> list:
    return ['--cfg-options', f'test_dataloader.dataset.data_root={data}',
            'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
            'model.denoiser.type=ThreeScaleDenoiser', 'model.denoiser.base_channels=8']


@pytest.mark.slow
def test_noise_sweep_writes_table_csv_plots_and_examples(tmp_path, monkeypatch, make_camvid, run_python, save_task_checkpoint):
    monkeypatch.setenv('PYTHONPATH', str(REPO))  # the checkout's package, not an older install
    data = make_camvid(tmp_path / 'CamVid', n_train=0, n_val=2)
    task = save_task_checkpoint(CONFIG, tmp_path / 'task.pth')
    stage1, bare = _save_denoisers(tmp_path)
    out = tmp_path / 'sweep'
    proc = run_python([TOOL, str(REPO / CONFIG), '--task-checkpoint', task, '--variant',
                f'mse={stage1}', '--variant', f'bare={bare}', '--sigmas', '0', '30',
                '--num-images', '2', '--num-examples', '2', '--out-dir', str(out),
                *_options(data)], cwd=tmp_path)
    variants, sigmas = ['clean', 'noisy', 'nlm', 'mse', 'bare'], ['0', '30']
    header = '| variant | sigma | aAcc | mIoU | mAcc | R/mIoU | denoise/psnr | denoise/ssim |'
    table = (out / 'sweep.md').read_text().strip().splitlines()
    assert table[0] == header and header in proc.stdout  # printed too
    assert len(table) == 2 + len(variants) * len(sigmas)
    assert [tuple(line.split(' | ')[0:2]) for line in table[2:]] == \
        [(f'| {v}', s) for v in variants for s in sigmas]

    with open(out / 'sweep.csv', newline='') as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ['variant', 'sigma', 'aAcc', 'mIoU', 'mAcc', 'R/mIoU',
                             'denoise/psnr', 'denoise/ssim']
    got = {(r['variant'], r['sigma']): {k: float(v) for k, v in r.items()
                                        if k not in ('variant', 'sigma')} for r in rows}
    assert set(got) == {(v, s) for v in variants for s in sigmas}
    # clean and sigma-0 noisy inputs are the clean images themselves
    assert math.isinf(got['clean', '30']['denoise/psnr'])
    assert all(_same(got['noisy', '0'][k], got['clean', '0'][k]) for k in got['clean', '0'])
    assert got['clean', '0']['mIoU'] == got['clean', '30']['mIoU']
    # the same noisy images for every variant: NLM improves on them, and the same weights
    # loaded from a cascade and from a bare checkpoint give the same numbers
    assert 10 < got['noisy', '30']['denoise/psnr'] < got['nlm', '30']['denoise/psnr']
    assert got['mse', '30'].keys() == got['bare', '30'].keys()
    assert all(_same(got['mse', '30'][k], got['bare', '30'][k]) for k in got['mse', '30'])
    # R = (m - m_noisy) / (m_clean - m_noisy) at the same sigma; undefined at sigma 0
    m = {v: got[v, '30']['mIoU'] for v in variants}
    assert m['clean'] != m['noisy']  # sigma-30 noise changes the model's answer
    assert got['mse', '30']['R/mIoU'] == pytest.approx(
        (m['mse'] - m['noisy']) / (m['clean'] - m['noisy']))
    assert got['clean', '30']['R/mIoU'] == pytest.approx(1)
    assert math.isnan(got['mse', '0']['R/mIoU'])
    # each variant's task metric is measured on its own output, not copied from another row
    assert got['mse', '30']['aAcc'] != got['noisy', '30']['aAcc']

    # one plot per metric, each drawing its own values (not one figure saved five times)
    plots = {}
    for name in ('aAcc', 'mIoU', 'mAcc', 'denoise_psnr', 'denoise_ssim'):
        plots[name] = cv2.imread(str(out / f'sweep_{name}.png'))
        assert plots[name] is not None and plots[name].std() > 10, name
    assert all(not np.array_equal(a, b) for i, a in enumerate(plots.values())
               for b in list(plots.values())[i + 1:])
    grids = [cv2.imread(str(out / f'examples_sigma{sigma}.png')) for sigma in sigmas]
    assert all(grid is not None and grid.std() > 10 for grid in grids)  # images drawn
    # the sigma-30 grid shows other (noisy) inputs than the sigma-0 one
    assert grids[0].shape != grids[1].shape or not np.array_equal(*grids)


def _tool_error(args: list, cwd: Path) -> str:
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, TOOL, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_noise_sweep_reports_bad_arguments(tmp_path):
    config = str(REPO / CONFIG)
    task = str(tmp_path / 'task.pth')
    torch.save({'state_dict': {}}, task)
    message = _tool_error([config, '--task-checkpoint', task, '--variant', 'joint=missing.pth'],
                          tmp_path)
    assert "variant 'joint': checkpoint file not found: missing.pth" in message
    message = _tool_error([config, '--task-checkpoint', task, '--classical', 'wiener'], tmp_path)
    assert "unknown classical denoising method 'wiener'" in message
    message = _tool_error([str(REPO / 'configs/task_models/fastscnn_camvid-180x240_cpu.py')],
                          tmp_path)
    assert "model.type is 'EncoderDecoder'" in message and 'DenoisingCascade' in message


def test_grid_colours_unlabelled_predictions_by_the_clean_prediction():
    from mmsemdenoise.analysis.sweep_report import label_is_right
    assert label_is_right(3, gt_label=3, clean_label=5)  # annotations win
    assert not label_is_right(5, gt_label=3, clean_label=5)
    assert label_is_right(5, gt_label=None, clean_label=5)  # unlabelled: the clean prediction
    assert not label_is_right(4, gt_label=None, clean_label=5)
    assert label_is_right(4, gt_label=None, clean_label=None)


def test_recovered_fraction_values():
    rows = [dict(variant='clean', sigma=0, mIoU=60.0), dict(variant='clean', sigma=30, mIoU=60.0),
            dict(variant='noisy', sigma=0, mIoU=60.0), dict(variant='noisy', sigma=30, mIoU=20.0),
            dict(variant='nlm', sigma=30, mIoU=30.0), dict(variant='joint', sigma=30, mIoU=70.0),
            dict(variant='bad', sigma=30, mIoU=10.0), dict(variant='joint', sigma=45, mIoU=5.0)]
    assert add_recovered_fraction(rows, 'mIoU') == 'R/mIoU'
    r = {(row['variant'], row['sigma']): row['R/mIoU'] for row in rows}
    assert r['clean', 30] == 1 and r['noisy', 30] == 0
    assert r['nlm', 30] == pytest.approx(0.25) and r['joint', 30] == pytest.approx(1.25)
    assert r['bad', 30] == pytest.approx(-0.25)  # worse than the noisy input
    assert math.isnan(r['clean', 0]) and math.isnan(r['joint', 45])  # no damage / no reference
