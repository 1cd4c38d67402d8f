"""DenoisingDataPreprocessor through the REAL upstream entry points, on tiny saved models.

Each upstream config is written unchanged (``seg.py``, ``cls.py``); the denoised variant is a
leaf that only swaps ``model.data_preprocessor``. The checkpoints are the task models' own
(no denoiser key). The oracle: the plain task model run on the image denoised by calling the
denoiser directly; the plain model on the raw image must give something else.
"""
import pickle
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmsemdenoise.models.noise import GaussianNoise, image_seed
from mmsemdenoise.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
SIZE = 32
DENOISER = dict(type='ThreeScaleDenoiser', base_channels=8)
CLASSES = ('sky', 'road', 'car')
# the user's configs: the tiny task models (tests/configs) with test data
TINY_SEG = """_base_ = '{base}'
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                 dict(type='PackSegInputs')]
test_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='BaseSegDataset', data_root='{{{{ fileDirname }}}}/data',
                 data_prefix=dict(img_path='img', seg_map_path='ann'), img_suffix='.png',
                 metainfo=dict(classes={classes!r}), pipeline=test_pipeline))
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='TestLoop')
visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')])
"""
TINY_CLS = """_base_ = '{base}'
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
test_dataloader = dict(batch_size=1, num_workers=0,
                       dataset=dict(type='CustomDataset', data_root='{{{{ fileDirname }}}}/data',
                                    pipeline=test_pipeline))
"""
# the leaves: the unchanged config plus the denoiser in front of its own data preprocessor
SEG_LEAF = """_base_ = './seg.py'
model = dict(data_preprocessor=dict(
    _delete_=True,
    type='mmsemdenoise.DenoisingDataPreprocessor',
    denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
    denoiser_checkpoint='{{ fileDirname }}/denoiser.pth',
    task_preprocessor=_base_.data_preprocessor))
"""
CLS_LEAF = """_base_ = './cls.py'
model = dict(data_preprocessor=dict(
    type='mmsemdenoise.DenoisingDataPreprocessor',
    denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
    denoiser_checkpoint='{{ fileDirname }}/denoiser.pth',
    task_preprocessor=dict(_base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor')))
"""
SEG_NOISY_DUMP = """_base_ = './seg_denoised.py'
model = dict(data_preprocessor=dict(noise=dict(type='GaussianNoise', sigma=25)))
test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']),
                  dict(type='DumpResults', out_file_path='{{ fileDirname }}/results.pkl')]
"""


@pytest.fixture(scope='module')
def files(tmp_path_factory, tiny_task) -> dict:
    root = tmp_path_factory.mktemp('entry_points')
    rng = np.random.default_rng(0)
    for sub in ('data/img', 'data/ann', 'data/cat/a'):
        (root / sub).mkdir(parents=True)
    images = []
    for i in range(2):
        img = (rng.random((SIZE, SIZE, 3)) * 40 + rng.integers(60, 190, 3)).astype(np.uint8)
        cv2.imwrite(str(root / f'data/img/{i}.png'), img)
        cv2.imwrite(str(root / f'data/cat/a/{i}.png'), img)
        cv2.imwrite(str(root / f'data/ann/{i}.png'), rng.integers(0, 3, (SIZE, SIZE), np.uint8))
        images.append(root / f'data/img/{i}.png')
    torch.manual_seed(0)
    denoiser = MODELS.build(dict(DENOISER, _scope_='mmsemdenoise'))
    torch.save({k: v * 0.5 if k.startswith('decoders.1.fuse') else v
                for k, v in denoiser.state_dict().items()}, root / 'denoiser.pth')
    seg = TINY_SEG.format(base=tiny_task.config['seg'], classes=CLASSES)
    cls = TINY_CLS.format(base=tiny_task.config['cls'])
    for name, text in (('seg.py', seg), ('cls.py', cls), ('seg_denoised.py', SEG_LEAF),
                       ('cls_denoised.py', CLS_LEAF), ('seg_noisy_dump.py', SEG_NOISY_DUMP)):
        (root / name).write_text(text)
    tiny_task.save_checkpoint('seg', root / 'seg.pth', CLASSES)
    tiny_task.save_checkpoint('cls', root / 'cls.pth', tuple('abcde'))
    return dict(root=root, images=images)


def _oracle_pixels(path: Path, root: Path, noise_seed=None) -> torch.Tensor:
    """The image denoised by calling the denoiser directly: BGR float (3, H, W) in 0-255."""
    net = MODELS.build(dict(DENOISER, _scope_='mmsemdenoise'))
    net.load_state_dict(torch.load(root / 'denoiser.pth'))
    rgb = torch.from_numpy(cv2.imread(str(path))).permute(2, 0, 1).flip(0)[None].float() / 255
    if noise_seed is not None:
        rgb, _ = GaussianNoise(sigma=25)(rgb, [noise_seed])
    with torch.no_grad():
        return (net.eval()(rgb).clamp(0, 1) * 255)[0].flip(0)


def _raw_pixels(path: Path) -> torch.Tensor:
    return torch.from_numpy(cv2.imread(str(path))).permute(2, 0, 1)


def _seg_logits(model, pixels: torch.Tensor) -> torch.Tensor:
    from mmseg.structures import SegDataSample
    sample = SegDataSample(metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
    with torch.no_grad():
        return model.test_step(dict(inputs=[pixels], data_samples=[sample]))[0].seg_logits.data


def _assert_denoiser_loaded(model, root: Path) -> None:
    saved = torch.load(root / 'denoiser.pth')
    for key, value in model.data_preprocessor.denoiser.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert not model.data_preprocessor.denoiser.training


def test_mmseg_init_model_and_inference_model(files):
    from mmseg.apis import inference_model, init_model
    root, image = files['root'], files['images'][0]
    model = init_model(str(root / 'seg_denoised.py'), str(root / 'seg.pth'), device='cpu')
    plain = init_model(str(root / 'seg.py'), str(root / 'seg.pth'), device='cpu')
    assert type(model).__name__ == 'EncoderDecoder'
    assert model.dataset_meta['classes'] == CLASSES  # read from checkpoint['meta']
    _assert_denoiser_loaded(model, root)
    load_checkpoint(model, str(root / 'seg.pth'), strict=True)  # no key missing or unexpected
    _assert_denoiser_loaded(model, root)
    got = inference_model(model, str(image)).seg_logits.data
    assert torch.allclose(got, _seg_logits(plain, _oracle_pixels(image, root)), atol=1e-4)
    raw = inference_model(plain, str(image)).seg_logits.data
    assert (got - raw).abs().max() > 1e-3


def test_mmseg_inferencer(files):
    from mmseg.apis import MMSegInferencer, init_model
    root, image = files['root'], files['images'][1]
    inferencer = MMSegInferencer(model=str(root / 'seg_denoised.py'),
                                 weights=str(root / 'seg.pth'), device='cpu')
    _assert_denoiser_loaded(inferencer.model, root)
    out = inferencer(str(image), return_datasamples=True)  # one image: its SegDataSample
    plain = init_model(str(root / 'seg.py'), str(root / 'seg.pth'), device='cpu')
    want = _seg_logits(plain, _oracle_pixels(image, root))
    assert torch.allclose(out.seg_logits.data, want, atol=1e-4)
    assert (want - _seg_logits(plain, _raw_pixels(image))).abs().max() > 1e-3
    # an array in, as from a camera
    arr = inferencer(cv2.imread(str(image)), return_datasamples=True)
    assert torch.allclose(arr.seg_logits.data, want, atol=1e-4)


def test_mmpretrain_get_model_and_inferencer(files):
    from mmpretrain import ImageClassificationInferencer, get_model
    root, image = files['root'], files['images'][0]
    model = get_model(str(root / 'cls_denoised.py'), pretrained=str(root / 'cls.pth'),
                      device='cpu')
    assert type(model).__name__ == 'ImageClassifier'
    _assert_denoiser_loaded(model, root)
    plain = get_model(str(root / 'cls.py'), pretrained=str(root / 'cls.pth'), device='cpu')

    def scores(net, pixels):
        with torch.no_grad():
            return net.test_step(dict(inputs=[pixels]))[0].pred_score

    want = scores(plain, _oracle_pixels(image, root))
    assert (want - scores(plain, _raw_pixels(image))).abs().max() > 1e-4
    # mmpretrain's inferencer builds its pipeline in the current scope, which the mmseg tests
    # above left at 'mmseg'; a fresh process has none
    init_default_scope('mmpretrain')
    from_model = ImageClassificationInferencer(model, device='cpu')(str(image))[0]
    from_config = ImageClassificationInferencer(str(root / 'cls_denoised.py'),
                                                pretrained=str(root / 'cls.pth'),
                                                device='cpu')(str(image))[0]
    for result in (from_model, from_config):
        assert np.allclose(result['pred_scores'], want.numpy(), atol=1e-5)
    assert from_config['pred_class'] in tuple('abcde')  # classes from checkpoint['meta']


def test_runner_test_through_tools_test_with_seeded_noise(files, tmp_path):
    """``tools/test.py`` (mmengine's Runner.test) on the task model's own checkpoint, with
    synthetic noise switched on in a leaf: every image gets the noise its file name seeds."""
    root = files['root']
    cmd = [sys.executable, str(REPO / 'tools/test.py'), str(root / 'seg_noisy_dump.py'),
           str(root / 'seg.pth'), '--work-dir', str(tmp_path / 'work'),
           '--out', str(tmp_path / 'metrics.json')]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'mIoU' in (tmp_path / 'metrics.json').read_text()
    with open(root / 'results.pkl', 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 2
    from mmseg.apis import init_model
    plain = init_model(str(root / 'seg.py'), str(root / 'seg.pth'), device='cpu')
    for result in results:
        path = Path(result['img_path'])
        want = _seg_logits(plain, _oracle_pixels(path, root, image_seed(path.name, 0)))
        assert torch.allclose(result['seg_logits']['data'], want, atol=1e-4), path.name
        clean = _seg_logits(plain, _oracle_pixels(path, root))
        assert (want - clean).abs().max() > 1e-3  # the noise was added
