"""Export a TRAINED cascade (two real Runner iterations) and check that the exported task model
with DenoisingDataPreprocessor predicts exactly what the cascade predicts on the same seeded
noisy inputs, through mmseg's init_model / mmpretrain's get_model and a Runner test."""
import copy
import runpy
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

from mmsemdenoise.apis import deployment_config, export_cascade
from mmsemdenoise.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
SIZE = 32
SEG_DATA = """dict(type='mmseg.BaseSegDataset', data_root='{root}/seg',
    data_prefix=dict(img_path='img', seg_map_path='ann'), img_suffix='.png',
    metainfo=dict(classes=('sky', 'road', 'car')),
    pipeline=[dict(type='LoadImageFromFile'), dict(type='mmseg.LoadAnnotations'),
              dict(type='mmseg.PackSegInputs')])"""
CLS_DATA = """dict(type='mmpretrain.CustomDataset', data_root='{root}/cls',
    pipeline=[dict(type='LoadImageFromFile'), dict(type='mmpretrain.PackInputs')])"""
CASCADE = """default_scope = 'mmsemdenoise'
model = dict(
    type='DenoisingCascade',
    data_preprocessor=dict(type='PixelPreprocessor', bgr_to_rgb=True),
    denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
    noise=dict(type='GaussianNoise', sigma=25),
    task_model={task},
    {extra}
    task_checkpoint='{root}/task.pth',
    loss=dict(type='JointLoss', task_weight=0.02))
train_dataloader = dict(batch_size=2, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True), dataset={data})
test_dataloader = dict(batch_size=2, num_workers=0,
                       sampler=dict(type='DefaultSampler', shuffle=False), dataset={data})
test_evaluator = [dict(type='{metric}'), dict(type='mmsemdenoise.PSNR')]
test_cfg = dict(type='TestLoop')
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
optim_wrapper = dict(type='OptimWrapper', constructor='TrainableParamsOptimWrapperConstructor',
                     optimizer=dict(type='Adam', lr=1e-3))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
visualizer = dict(type='{visualizer}', vis_backends=[dict(type='LocalVisBackend')])
"""
KINDS = dict(
    seg=dict(data=SEG_DATA, metric='mmseg.IoUMetric', visualizer='mmseg.SegLocalVisualizer'),
    cls=dict(data=CLS_DATA, metric='mmpretrain.Accuracy',
             visualizer='mmpretrain.UniversalVisualizer'))


def _task_fields(kind: str, tiny_task) -> dict:
    """``task_model`` (and, for mmpretrain, ``task_data_preprocessor``: its configs keep the
    classifier's preprocessor, without a type, outside the model) of the tiny task model."""
    task = tiny_task.model(kind)
    if kind == 'seg':
        return dict(task=repr(task), extra='')
    preprocessor = task.pop('data_preprocessor')
    preprocessor.pop('type')
    return dict(task=repr(task), extra=f'task_data_preprocessor={preprocessor!r},')


def _photos(root: Path) -> None:
    rng = np.random.default_rng(0)
    for sub in ('seg/img', 'seg/ann', 'cls/a', 'cls/b'):
        (root / sub).mkdir(parents=True)
    for i in range(4):
        img = (rng.random((SIZE, SIZE, 3)) * 40 + rng.integers(60, 190, 3)).astype(np.uint8)
        cv2.imwrite(str(root / f'seg/img/{i}.png'), img)
        cv2.imwrite(str(root / f'seg/ann/{i}.png'), rng.integers(0, 3, (SIZE, SIZE), np.uint8))
        cv2.imwrite(str(root / f'cls/{"ab"[i % 2]}/{i}.png'), img)


def _train(kind: str, root: Path, tiny_task) -> dict:
    """A cascade config of ``kind`` ('seg' or 'cls') and the checkpoint of two Runner training
    iterations."""
    _photos(root)
    spec = KINDS[kind]
    text = CASCADE.format(**_task_fields(kind, tiny_task), metric=spec['metric'],
                          data=spec['data'].format(root=root), root=root,
                          visualizer=spec['visualizer'])
    (root / 'cascade.py').write_text(text)
    cfg = Config.fromfile(str(root / 'cascade.py'))
    tiny_task.save_checkpoint(kind, root / 'task.pth', tiny_task.classes[kind])
    init_default_scope('mmsemdenoise')
    torch.manual_seed(0)
    cfg.work_dir = str(root / 'work')
    Runner.from_cfg(cfg).train()
    return dict(kind=kind, root=root, config=str(root / 'cascade.py'),
                checkpoint=str(root / 'work'))  # the work dir: its last checkpoint


@pytest.fixture(scope='module')
def trained_seg(tmp_path_factory, tiny_task) -> dict:
    return _train('seg', tmp_path_factory.mktemp('export_seg'), tiny_task)


@pytest.fixture(scope='module')
def trained_cls(tmp_path_factory, tiny_task) -> dict:
    return _train('cls', tmp_path_factory.mktemp('export_cls'), tiny_task)


@pytest.fixture(params=['seg', 'cls'])
def trained(request) -> dict:
    """Each task kind in turn (each trained once per module)."""
    return request.getfixturevalue(f'trained_{request.param}')


def _first_batch(cfg: Config) -> dict:
    init_default_scope('mmsemdenoise')
    return next(iter(Runner.build_dataloader(cfg.test_dataloader)))


def _cascade(trained: dict):
    cfg = Config.fromfile(trained['config'])
    init_default_scope('mmsemdenoise')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, str(Path(trained['checkpoint']) / 'iter_2.pth'), strict=True)
    return model.eval(), cfg


def _predictions(results, kind: str) -> torch.Tensor:
    if kind == 'seg':
        return torch.stack([r.seg_logits.data for r in results])
    return torch.stack([r.pred_score for r in results])


def _load_exported(paths: dict, kind: str):
    if kind == 'seg':
        from mmseg.apis import init_model
        return init_model(paths['config'], paths['checkpoint'], device='cpu')
    from mmpretrain import get_model
    return get_model(paths['config'], pretrained=True, device='cpu')  # config's load_from


def test_exported_pair_predicts_what_the_cascade_predicts(trained, tmp_path):
    kind = trained['kind']
    cascade, cfg = _cascade(trained)
    batch = _first_batch(cfg)
    with torch.no_grad():
        want = _predictions(cascade.test_step(copy.deepcopy(batch)), kind)
    paths = export_cascade(trained['config'], trained['checkpoint'], str(tmp_path / 'out'),
                           name='deployed', keep_test_noise=True)
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'deployed.pth', 'deployed.py', 'deployed_denoiser.pth']
    model = _load_exported(paths, kind)
    assert type(model).__name__ == cfg.model.task_model.type  # the task model, unchanged
    for key, value in model.data_preprocessor.denoiser.state_dict().items():  # trained weights
        assert torch.equal(value, cascade.denoiser.state_dict()[key]), key
    with torch.no_grad():
        got = _predictions(model.test_step(copy.deepcopy(batch)), kind)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()
    # without --keep-test-noise the inputs are taken as they are: other predictions
    clean = export_cascade(trained['config'], trained['checkpoint'], str(tmp_path / 'clean'))
    with torch.no_grad():
        other = _predictions(_load_exported(clean, kind).test_step(copy.deepcopy(batch)), kind)
    assert (other - want).abs().max() > 1e-4
    # the folder moves as a whole: the config names the denoiser relative to itself
    moved = tmp_path / 'moved'
    (tmp_path / 'out').rename(moved)
    model = _load_exported({k: str(moved / Path(p).name) for k, p in paths.items()}, kind)
    with torch.no_grad():
        assert torch.allclose(_predictions(model.test_step(copy.deepcopy(batch)), kind), want,
                              atol=1e-5)


def test_exported_config_is_one_of_the_task_library(trained_seg, tmp_path):
    """Default scope mmseg, names as mmseg's tools expect them (its inferencer drops
    'LoadAnnotations' by name), no cascade-only metric; Runner.test and MMSegInferencer run."""
    trained = trained_seg
    paths = export_cascade(trained['config'], trained['checkpoint'], str(tmp_path),
                           name='deployed')
    cfg = Config.fromfile(paths['config'])
    assert cfg.default_scope == 'mmseg'
    assert cfg.test_dataloader.dataset.type == 'BaseSegDataset'  # was mmseg.BaseSegDataset
    assert [t['type'] for t in cfg.test_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'PackSegInputs']
    assert cfg.optim_wrapper.constructor == 'mmsemdenoise.TrainableParamsOptimWrapperConstructor'
    assert [m['type'] for m in cfg.test_evaluator] == ['IoUMetric']  # PSNR dropped
    assert 'mmsemdenoise' in cfg.custom_imports['imports']
    cfg.work_dir, cfg.load_from = str(tmp_path / 'work'), paths['checkpoint']
    metrics = Runner.from_cfg(cfg).test()
    assert 'mIoU' in metrics and not any('psnr' in k.lower() for k in metrics)
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(paths['config'], weights=paths['checkpoint'], device='cpu')
    pred = inferencer(str(trained['root'] / 'seg/img/0.png'))['predictions']
    assert pred.shape == (SIZE, SIZE)


def test_cli_never_overwrites_without_force(trained_cls, tmp_path, monkeypatch, capsys):
    trained = trained_cls
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'cascade.pth').write_bytes(b'user file')
    argv = ['export_cascade.py', trained['config'], trained['checkpoint'], str(out)]

    def run(*extra) -> int:
        monkeypatch.setattr(sys, 'argv', argv + list(extra))
        with pytest.raises(SystemExit) as done:
            runpy.run_path(str(REPO / 'tools/deployment/export_cascade.py'), run_name='__main__')
        return done.value.code

    assert run() == 1
    err = capsys.readouterr().err
    assert 'cascade.pth' in err and '--force' in err
    assert (out / 'cascade.pth').read_bytes() == b'user file'
    assert sorted(p.name for p in out.iterdir()) == ['cascade.pth']  # nothing written
    assert run('--force') == 0
    assert 'config:' in capsys.readouterr().out
    assert (out / 'cascade.pth').read_bytes() != b'user file'


def test_bad_inputs_name_the_problem(trained_seg, tmp_path):
    trained = trained_seg
    cfg = Config.fromfile(trained['config'])
    stage1 = Config(dict(cfg.to_dict(), model=dict(cfg.model.to_dict(), task_model=None)))
    with pytest.raises(ValueError, match='needs a task_model'):
        deployment_config(stage1, 'x.pth')
    task_only = Config(dict(cfg.to_dict(), model=cfg.model.task_model.to_dict()))
    with pytest.raises(ValueError, match="model.type is 'EncoderDecoder'"):
        deployment_config(task_only, 'x.pth')
    with pytest.raises(KeyError, match='no denoiser.. weights'):
        export_cascade(trained['config'], str(trained['root'] / 'task.pth'), str(tmp_path))
