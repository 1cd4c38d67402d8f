"""Every snippet of the README section "Use a trained denoiser with your model" runs, in order,
in a folder holding what the snippets name: tiny real task configs and their own checkpoints
(`my_segmentor.py/.pth`, `my_classifier.py/.pth`), two photos, and a cascade trained for two
iterations (`my_cascade.py`, `work_dirs/my_cascade`).

A ```python block whose first line is ``# <name>.py`` is a config file and is written under
that name; other ```python blocks are executed in one namespace; each line of a ```bash block is
run as a command (``python`` is this interpreter).
"""
import re
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils import load_weights

REPO = Path(__file__).resolve().parents[1]
SECTION = 'Use a trained denoiser with your model'
SIZE = 32
MEAN_STD = 'mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]'
SEG_MODEL = f"""dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', {MEAN_STD}, bgr_to_rgb=True,
                           size=({SIZE}, {SIZE})),
    backbone=dict(type='MobileNetV2', widen_factor=0.25, strides=(1, 2, 2, 1, 1, 1, 1),
                  dilations=(1, 1, 1, 2, 2, 4, 4), out_indices=(1, 2, 4, 6),
                  norm_cfg=dict(type='BN')),
    decode_head=dict(type='FCNHead', in_channels=80, channels=16, num_convs=1, num_classes=3,
                     in_index=3, norm_cfg=dict(type='BN')),
    test_cfg=dict(mode='whole'))"""
# a user's mmseg config: upstream names, default scope mmseg
MY_SEGMENTOR = f"""default_scope = 'mmseg'
model = {SEG_MODEL}
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                 dict(type='PackSegInputs')]
test_dataloader = dict(
    batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='BaseSegDataset', data_root='data',
                 data_prefix=dict(img_path='img', seg_map_path='ann'), img_suffix='.png',
                 metainfo=dict(classes=('sky', 'road', 'car')), pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='TestLoop')
visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')])
"""
# a user's mmpretrain config: the preprocessor at the top level, without a type
MY_CLASSIFIER = f"""default_scope = 'mmpretrain'
data_preprocessor = dict(num_classes=5, {MEAN_STD}, to_rgb=True)
model = dict(type='ImageClassifier', backbone=dict(type='MobileNetV2', widen_factor=0.25),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=5, in_channels=1280))
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
test_dataloader = dict(batch_size=1, num_workers=0,
                       dataset=dict(type='CustomDataset', data_root='data', with_label=False,
                                    pipeline=test_pipeline))
"""
# stage 2 in front of the same segmentor, trained for two iterations by the fixture
MY_CASCADE = f"""_base_ = ['./my_segmentor.py']
default_scope = 'mmsemdenoise'
model = dict(
    _delete_=True, type='DenoisingCascade',
    denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
    noise=dict(type='GaussianNoise', sigma=25),
    task_model=dict({SEG_MODEL}, _scope_='mmseg'), task_checkpoint='my_segmentor.pth',
    loss=dict(type='JointLoss', task_weight=0.02))
_data = dict(type='mmseg.BaseSegDataset', data_root='data',
             data_prefix=dict(img_path='img', seg_map_path='ann'), img_suffix='.png',
             pipeline=[dict(type='LoadImageFromFile'), dict(type='mmseg.LoadAnnotations'),
                       dict(type='mmseg.PackSegInputs')])
train_dataloader = dict(batch_size=2, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True), dataset=_data)
test_dataloader = dict(batch_size=1, num_workers=0,
                       sampler=dict(type='DefaultSampler', shuffle=False), dataset=_data)
test_evaluator = [dict(type='mmseg.IoUMetric'), dict(type='PSNR')]
visualizer = dict(type='mmseg.SegLocalVisualizer')
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2)
optim_wrapper = dict(type='OptimWrapper', constructor='TrainableParamsOptimWrapperConstructor',
                     optimizer=dict(type='Adam', lr=1e-3))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
"""


def readme_blocks():
    text = (REPO / 'README.md').read_text()
    start = text.index(f'## {SECTION}\n')
    end = text.find('\n## ', start + 1)
    section = text[start:end if end != -1 else None]
    return re.findall(r'```(\w+)\n(.*?)```', section, flags=re.S)


def _task_checkpoint(config: str, path: Path, scope: str) -> None:
    """PyTorch's initialisation with batch-norm statistics of a few random images (outputs that
    depend on the input), and the meta mmengine writes."""
    cfg = Config.fromfile(config)
    model_cfg = dict(cfg.model, _scope_=scope)
    if scope == 'mmpretrain':
        model_cfg['data_preprocessor'] = dict(cfg.data_preprocessor, type='ClsDataPreprocessor')
    init_default_scope(scope)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, SIZE, SIZE), mode='tensor')
    classes = ('sky', 'road', 'car') if scope == 'mmseg' else tuple('abcde')
    torch.save({'meta': {'dataset_meta': {'classes': classes}},
                'state_dict': model.state_dict()}, path)


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for sub in ('data/img', 'data/ann'):
        (tmp_path / sub).mkdir(parents=True)
    for i in range(2):
        img = (rng.random((SIZE, SIZE, 3)) * 40 + rng.integers(60, 190, 3)).astype(np.uint8)
        cv2.imwrite(f'data/img/{i}.png', img)
        cv2.imwrite(f'data/ann/{i}.png', rng.integers(0, 3, (SIZE, SIZE), np.uint8))
    cv2.imwrite('street.png', cv2.imread('data/img/0.png'))
    cv2.imwrite('photo.png', cv2.imread('data/img/1.png'))
    for name, text in (('my_segmentor.py', MY_SEGMENTOR), ('my_classifier.py', MY_CLASSIFIER),
                       ('my_cascade.py', MY_CASCADE)):
        (tmp_path / name).write_text(text)
    _task_checkpoint('my_segmentor.py', tmp_path / 'my_segmentor.pth', 'mmseg')
    _task_checkpoint('my_classifier.py', tmp_path / 'my_classifier.pth', 'mmpretrain')
    (tmp_path / 'tools').symlink_to(REPO / 'tools')
    cfg = Config.fromfile('my_cascade.py')
    cfg.work_dir = 'work_dirs/my_cascade'
    init_default_scope('mmsemdenoise')
    Runner.from_cfg(cfg).train()
    return tmp_path


def shipped_denoiser() -> dict:
    net = MODELS.build(dict(type='ThreeScaleDenoiser', _scope_='mmsemdenoise'))
    load_weights(net, 'mmsemdenoise://three-scale_blind_bsd400', prefix='denoiser.')
    return net.state_dict()


def assert_same_weights(module, state: dict) -> None:
    own = module.state_dict()
    assert set(own) == set(state)
    for key, value in own.items():
        assert torch.equal(value, state[key]), key


@pytest.mark.slow
def test_every_readme_snippet_runs(folder):
    blocks = readme_blocks()
    kinds = {'config': 0, 'python': 0, 'bash': 0}
    namespace = {}
    for lang, code in blocks:
        first = code.splitlines()[0]
        if lang == 'python' and re.fullmatch(r'# \S+\.py', first):
            (folder / first[2:]).write_text(code)
            kinds['config'] += 1
        elif lang == 'python':
            exec(compile(code, f'README.md ({SECTION})', 'exec'), namespace)
            kinds['python'] += 1
            if 'classifier' in namespace and kinds['python'] == 1:  # the inferencers' snippet
                shipped = shipped_denoiser()
                assert_same_weights(namespace['segmentor'].model.data_preprocessor.denoiser,
                                    shipped)
                assert_same_weights(namespace['classifier'].model.data_preprocessor.denoiser,
                                    shipped)
                assert tuple(namespace['class_map'].shape) == (SIZE, SIZE)
                assert namespace['label'] in tuple('abcde')
        elif lang == 'bash':
            for line in filter(None, (ln.strip() for ln in code.splitlines())):
                cmd = shlex.split(line)
                cmd[0] = sys.executable if cmd[0] == 'python' else cmd[0]
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                assert proc.returncode == 0, proc.stderr[-3000:]
                assert 'mIoU' in proc.stdout + proc.stderr
            kinds['bash'] += 1
        else:
            pytest.fail(f'README section {SECTION!r}: a ```{lang} block no test runs')
    assert kinds == {'config': 2, 'python': 2, 'bash': 1}, kinds
    # the export snippet: the inferencer holds the cascade's trained denoiser
    trained = torch.load(folder / 'work_dirs/my_cascade/iter_2.pth', map_location='cpu',
                         weights_only=False)['state_dict']
    assert_same_weights(namespace['segmentor'].model.data_preprocessor.denoiser,
                        {k[len('denoiser.'):]: v for k, v in trained.items()
                         if k.startswith('denoiser.')})
    assert sorted(p.name for p in (folder / 'deploy').iterdir()) == [
        'my_cascade.pth', 'my_cascade.py', 'my_cascade_denoiser.pth']
