"""Shipped weights: every name loads by `mmsemdenoise://<name>`, files are what SHA256SUMS says,
and the blind denoiser still denoises as its metafile reports (a fixed subset, seeded noise)."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from mmengine.runner.checkpoint import CheckpointLoader

from mmsemdenoise.apis import load_denoiser
from mmsemdenoise.models.noise import GaussianNoise, image_seed
from mmsemdenoise.utils import load_weights, shipped_names, shipped_path
from mmsemdenoise.utils.model_zoo import export_shipped_weights, file_sha256

BLIND_CONFIG = 'configs/denoise/three-scale_bsd400_blind_cpu-2h.py'


def test_every_shipped_name_is_in_a_metafile(repo_root: Path):
    names = shipped_names()
    assert 'three-scale_blind_bsd400' in names
    index = yaml.safe_load((repo_root / 'model-index.yml').read_text())
    models = {}
    for metafile in index['Import']:
        for model in yaml.safe_load((repo_root / metafile).read_text())['Models']:
            models[model['Name']] = model
    for name in names:
        entry = models[name]
        assert entry['Weights'] == f'mmsemdenoise://{name}'
        assert entry['Metadata']['sha256'] == file_sha256(shipped_path(name))
        assert (repo_root / entry['Config']).is_file()


@pytest.mark.parametrize('name', shipped_names())
def test_shipped_weights_are_float16_and_load_into_float32(name: str):
    state = CheckpointLoader.load_checkpoint(f'mmsemdenoise://{name}', map_location='cpu')
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())
    assert all(k.startswith('denoiser.') for k in state)


def test_unknown_name_and_damaged_file(tmp_path: Path, monkeypatch):
    with pytest.raises(KeyError, match="no shipped weights named 'nope'; shipped: .*three-scale"):
        CheckpointLoader.load_checkpoint('mmsemdenoise://nope')
    # a damaged copy is refused by its sha256 (export into a scratch weights folder)
    from mmsemdenoise.utils import model_zoo
    ckpt = tmp_path / 'run.pth'
    torch.save({'state_dict': {'denoiser.w': torch.ones(3)}}, ckpt)
    out = export_shipped_weights(str(ckpt), 'tiny', out_dir=str(tmp_path))
    with pytest.raises(FileExistsError, match='exists'):
        export_shipped_weights(str(ckpt), 'tiny', out_dir=str(tmp_path))
    monkeypatch.setattr(model_zoo, 'WEIGHTS_DIR', str(tmp_path))
    model_zoo._sums.cache_clear()
    try:
        assert torch.load(shipped_path('tiny'))['denoiser.w'].dtype == torch.float16
        Path(out['path']).write_bytes(Path(out['path']).read_bytes()[:-8])
        with pytest.raises(OSError, match='damaged'):
            shipped_path('tiny')
    finally:
        model_zoo._sums.cache_clear()


def test_blind_denoiser_psnr_is_pinned(repo_root: Path, shared_data):
    """First 3 CBSD68 images, 128x128 centre crops, sigma 15/50, per-image seeded noise."""
    folder = shared_data('denoise/CBSD68')
    denoiser = load_denoiser(str(repo_root / BLIND_CONFIG), 'mmsemdenoise://three-scale_blind_bsd400')
    assert next(denoiser.parameters()).dtype == torch.float32
    images = []
    for path in sorted(folder.glob('*.png'))[:3]:
        rgb = cv2.imread(str(path))[..., ::-1]
        top, left = (rgb.shape[0] - 128) // 2, (rgb.shape[1] - 128) // 2
        images.append(rgb[top:top + 128, left:left + 128])
    clean = torch.from_numpy(np.stack(images).copy()).permute(0, 3, 1, 2).float() / 255
    seeds = [image_seed(i, 0) for i in range(3)]
    psnr = {}
    for sigma in (15, 50):
        noisy, _ = GaussianNoise(sigma)(clean, seeds)
        with torch.no_grad():
            out = (denoiser(noisy).clamp(0, 1) * 255).round()
        mse = (out - clean * 255).square().mean(dim=(1, 2, 3))
        psnr[sigma] = float((10 * torch.log10(255**2 / mse)).mean())
    assert psnr == pytest.approx(PINNED, abs=0.01), psnr


PINNED = {15: 31.4705, 50: 25.5206}  # measured 2026-12-02 with the shipped file
