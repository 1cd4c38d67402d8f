"""Tiled inference and the denoise tool."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mmsemdenoise.apis import denoise_image, load_denoiser, tiled_apply
from mmsemdenoise.models.denoisers import DnCNN

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs/denoise/three-scale_bsd400_sigma25.py')


def test_tiles_match_whole_image_within_receptive_field():
    torch.manual_seed(0)
    net = DnCNN(num_layers=3).eval()  # receptive-field radius 3 <= overlap / 2
    image = torch.rand(1, 3, 50, 70)
    with torch.no_grad():
        whole = net(image)
        tiled = tiled_apply(net, image, tile=24, overlap=8)
    assert tiled.shape == whole.shape
    assert torch.allclose(tiled, whole, atol=1e-5)


def test_tile_larger_than_image_runs_once_and_bad_overlap_raises():
    image = torch.rand(1, 3, 10, 12)
    calls = []
    out = tiled_apply(lambda t: calls.append(t.shape) or t * 2, image, tile=16)
    assert calls == [image.shape] and torch.equal(out, image * 2)
    with pytest.raises(ValueError, match='overlap'):
        tiled_apply(lambda t: t, torch.rand(1, 3, 40, 40), tile=16, overlap=16)


def test_load_denoiser_takes_cascade_or_bare_checkpoints(tmp_path):
    den = load_denoiser(CONFIG)
    state = {f'denoiser.{k}': v + 1 for k, v in den.state_dict().items()}
    state['task_model.x'] = torch.zeros(1)  # other parts of a cascade are ignored
    torch.save({'state_dict': state}, tmp_path / 'cascade.pth')
    loaded = load_denoiser(CONFIG, str(tmp_path / 'cascade.pth'))
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, state[f'denoiser.{k}']), k
    torch.save({'state_dict': {'conv0.weight': torch.zeros(1)}}, tmp_path / 'bad.pth')
    with pytest.raises(Exception, match='bad.pth'):
        load_denoiser(CONFIG, str(tmp_path / 'bad.pth'))
    rgb = np.random.default_rng(0).integers(0, 256, (33, 45, 3), dtype=np.uint8)
    out = denoise_image(loaded, rgb, tile=24, overlap=8)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    with pytest.raises(ValueError, match='uint8'):
        denoise_image(loaded, rgb.astype(np.float32))


def test_denoise_tool_writes_a_separate_folder(tmp_path):
    den = load_denoiser(CONFIG)
    torch.save({'state_dict': {f'denoiser.{k}': v for k, v in den.state_dict().items()}},
               tmp_path / 'model.pth')
    src = tmp_path / 'in'
    src.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a.png', 'b.jpg'):
        cv2.imwrite(str(src / name), rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    tool = [sys.executable, str(REPO / 'tools/denoise.py'), CONFIG, str(tmp_path / 'model.pth')]

    out = tmp_path / 'out'
    proc = subprocess.run([*tool, str(src), str(out), '--add-noise', '25', '--tile', '32', '--overlap', '8'],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ['a.png', 'a_noisy.png', 'b.png',
                                                      'b_noisy.png']
    assert cv2.imread(str(out / 'a.png')).shape == (40, 50, 3)
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before  # inputs untouched

    stamp = (out / 'a.png').stat().st_mtime_ns
    proc = subprocess.run([*tool, str(src), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and 'kept 2 existing' in proc.stdout
    assert (out / 'a.png').stat().st_mtime_ns == stamp

    proc = subprocess.run([*tool, str(src), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and 'holds the inputs' in proc.stderr
