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
# a user's mmseg config (the tiny segmentor of tests/configs): upstream names, default
# scope mmseg
MY_SEGMENTOR = """_base_ = '{base}'
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
MY_CLASSIFIER = """_base_ = '{base}'
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
test_dataloader = dict(batch_size=1, num_workers=0,
                       dataset=dict(type='CustomDataset', data_root='data', with_label=False,
                                    pipeline=test_pipeline))
"""
# stage 2 in front of the same segmentor, trained for two iterations by the fixture
MY_CASCADE = """_base_ = ['./my_segmentor.py']
default_scope = 'mmsemdenoise'
model = dict(
    _delete_=True, type='DenoisingCascade',
    data_preprocessor=dict(type='PixelPreprocessor'),  # not the segmentor's top-level one
    denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
    noise=dict(type='GaussianNoise', sigma=25),
    task_model=dict(_base_.model, _scope_='mmseg'), task_checkpoint='my_segmentor.pth',
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


@pytest.fixture
def folder(tmp_path, monkeypatch, tiny_task) -> Path:
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
    for name, text in (('my_segmentor.py', MY_SEGMENTOR.format(base=tiny_task.config['seg'])),
                       ('my_classifier.py', MY_CLASSIFIER.format(base=tiny_task.config['cls'])),
                       ('my_cascade.py', MY_CASCADE)):
        (tmp_path / name).write_text(text)
    tiny_task.save_checkpoint('seg', tmp_path / 'my_segmentor.pth', tiny_task.classes['seg'])
    tiny_task.save_checkpoint('cls', tmp_path / 'my_classifier.pth', tiny_task.classes['cls'])
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
