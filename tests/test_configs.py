"""Every shipped config parses, names registered modules, and builds its model."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmsemdenoise  # noqa: F401 (the `mmsemdenoise::` prefix)
from mmsemdenoise.registry import MODELS

REPO = Path(__file__).resolve().parents[1]
SHIPPED = 'mmsemdenoise://three-scale_blind_bsd400'
CONFIGS = sorted(p.relative_to(REPO / 'configs').as_posix()
                 for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)


def test_configs_found():
    assert {'deeplab_denoise_voc.py', 'cascade/resnet50_denoise_in1k.py',
            'denoise/three-scale_bsd400_sigma25_cpu-1h.py'} <= set(CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_its_model(name):
    cfg = Config.fromfile(str(REPO / 'configs' / name))
    assert cfg.default_scope == 'mmsemdenoise'
    init_default_scope('mmsemdenoise')
    model_cfg = cfg.model
    stage1 = model_cfg.get('denoiser_checkpoint')
    if stage1 and '://' not in stage1 and not Path(stage1).exists():
        # a stage-1 run this checkout has not trained: the denoiser's architecture comes from
        # the checkpoint, so the shipped paper's net (the same architecture) stands in
        model_cfg.denoiser_checkpoint = SHIPPED
    model = MODELS.build(model_cfg)  # builds only: checkpoints load in init_weights
    if model_cfg.type == 'DenoisingCascade':
        assert model.denoiser is not None or 'official' in name
        if model.task_model is not None:
            assert all(not p.requires_grad for p in model.task_model.parameters())


@pytest.mark.parametrize('name', CONFIGS)
def test_cascade_checkpoints_carry_the_architecture(name):
    """Every cascade run writes its denoiser's config into its checkpoints (meta['model_cfg']):
    a stage-2 checkpoint is read without the stage-1 run its config names."""
    cfg = Config.fromfile(str(REPO / 'configs' / name))
    if cfg.model.type != 'DenoisingCascade':
        pytest.skip('not a cascade')
    hooks = [h['type'] for h in cfg.get('custom_hooks') or []]
    assert 'mmsemdenoise.DenoiserArchitectureHook' in hooks, hooks


def test_package_prefix_inherits_installed_config(tmp_path):
    """``mmsemdenoise::`` resolves in the installed package's .mim folder (pip install .)."""
    from mmengine.utils import get_installed_path
    mim = Path(get_installed_path('mmsemdenoise')) / '.mim'
    assert (mim / 'model-index.yml').is_file(), \
        f'{mim} is missing: install the package non-editable (pip install .; see tools/setup.sh)'
    child = tmp_path / 'child.py'
    child.write_text("_base_ = 'mmsemdenoise::cascade/deeplab_denoise_voc.py'\n"
                     "model = dict(noise=dict(sigma=50))\n")
    cfg = Config.fromfile(str(child))
    assert cfg.model.type == 'DenoisingCascade' and cfg.model.noise.sigma == 50
    assert cfg.model.task_model.type == 'EncoderDecoder'
    assert cfg.model.task_model._scope_ == 'mmseg'  # from the mmseg:: base two levels up
