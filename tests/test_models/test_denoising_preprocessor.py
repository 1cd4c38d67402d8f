"""DenoisingDataPreprocessor as ``model.data_preprocessor`` of REAL tiny mmseg / mmpretrain models.

The oracle of every check is the denoiser called directly: the task model must receive
``(denoiser(rgb / 255).clamp(0, 1) * 255 - mean) / std``, not the raw pixels.
"""
import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_state_dict

from mmsemdenoise.models.noise import GaussianNoise, image_seed
from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils import CheckpointMismatchError

SIZE = 32
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
DENOISER = dict(type='ThreeScaleDenoiser', base_channels=8)


@pytest.fixture(scope='module')
def seg_model(tiny_task) -> dict:
    """The tiny mmseg EncoderDecoder (tests/configs), its SegDataPreProcessor inside."""
    return tiny_task.model('seg')


@pytest.fixture(scope='module')
def cls_model(tiny_task) -> dict:
    """The tiny mmpretrain ImageClassifier, its ClsDataPreprocessor inside."""
    return tiny_task.model('cls')


@pytest.fixture(scope='module')
def denoiser_file(tmp_path_factory):
    """Weights unlike a fresh network's (last convolution halved: a residual of ~0.06 in
    [0, 1] units), as a bare state dict file."""
    torch.manual_seed(0)
    net = MODELS.build(dict(DENOISER, _scope_='mmsemdenoise'))
    state = {k: (v * 0.5 if k.startswith('decoders.1.fuse') else v)
             for k, v in net.state_dict().items()}
    path = tmp_path_factory.mktemp('denoiser') / 'denoiser.pth'
    torch.save(state, path)
    return path


def with_denoiser(task_model: dict, denoiser_file, **kwargs) -> dict:
    cfg = copy.deepcopy(task_model)
    cfg['data_preprocessor'] = dict(
        type='mmsemdenoise.DenoisingDataPreprocessor', denoiser=DENOISER,
        denoiser_checkpoint=str(denoiser_file), task_preprocessor=cfg['data_preprocessor'],
        **kwargs)
    return cfg


def build(cfg: dict, scope: str = 'mmsemdenoise'):
    init_default_scope(scope)
    return ROOT_MODELS.build(ConfigDict(cfg))


def oracle_denoiser(denoiser_file):
    net = MODELS.build(dict(DENOISER, _scope_='mmsemdenoise'))
    net.load_state_dict(torch.load(denoiser_file))
    return net.eval()


def bgr_batch(n: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (3, SIZE, SIZE), generator=g, dtype=torch.uint8)
            for _ in range(n)]


def seg_samples(names):
    from mmseg.structures import SegDataSample
    return [SegDataSample(metainfo=dict(img_path=f'/data/{name}', img_shape=(SIZE, SIZE),
                                        ori_shape=(SIZE, SIZE))) for name in names]


def expected_inputs(images, denoiser, noise=None, seeds=None):
    """The oracle: BGR uint8 -> RGB [0, 1] -> (noise) -> denoiser -> clamp -> normalised RGB."""
    rgb = torch.stack([img.flip(0).float() / 255 for img in images])
    if noise is not None:
        rgb, _ = noise(rgb, seeds)
    with torch.no_grad():
        out = denoiser(rgb).clamp(0, 1) * 255
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (out - mean) / std


@pytest.mark.parametrize('scope', ['mmseg', 'mmpretrain', 'mmsemdenoise'])
@pytest.mark.parametrize('kind', ['seg', 'cls'], ids=['EncoderDecoder', 'ImageClassifier'])
def test_task_model_gets_the_denoised_pixels_normalised(kind, scope, denoiser_file, tiny_task):
    task_model = tiny_task.model(kind)
    model = build(with_denoiser(task_model, denoiser_file), scope).eval()
    assert type(model).__name__ == task_model['type']  # the model type is unchanged
    pre = model.data_preprocessor
    assert type(pre.task_preprocessor).__name__ == task_model['data_preprocessor']['type']
    saved = torch.load(denoiser_file)
    for key, value in pre.denoiser.state_dict().items():  # loaded when built
        assert torch.equal(value, saved[key]), key
    images = bgr_batch()
    samples = seg_samples(['a.png', 'b.png']) if kind == 'seg' else None
    got = pre(dict(inputs=images, data_samples=samples))['inputs']
    want = expected_inputs(images, oracle_denoiser(denoiser_file))
    assert torch.allclose(got, want, atol=1e-4)
    plain = build(task_model, scope).data_preprocessor(dict(inputs=images))['inputs']
    assert (got - plain).abs().mean() > 0.05  # not the raw pixels


def test_task_checkpoint_loads_unchanged_and_denoiser_keeps_its_weights(denoiser_file, seg_model):
    torch.manual_seed(1)
    plain = build(seg_model)
    model = build(with_denoiser(seg_model, denoiser_file))
    before = copy.deepcopy(model.data_preprocessor.denoiser.state_dict())
    task_state = plain.state_dict()  # the task model's own checkpoint: no denoiser keys
    assert not any('denoiser' in k for k in task_state)
    load_state_dict(model, task_state, strict=True)  # mmengine's loader: nothing missing
    model.load_state_dict(task_state, strict=True)  # torch's
    for key, value in model.data_preprocessor.denoiser.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert torch.equal(model.backbone.conv1.conv.weight, plain.backbone.conv1.conv.weight)
    # a checkpoint that holds the denoiser (saved with this preprocessor) loads it
    full = {k: v.clone() for k, v in model.state_dict().items()}
    full['data_preprocessor.denoiser.conv0.weight'] += 1
    model.load_state_dict(full, strict=True)
    assert torch.equal(model.data_preprocessor.denoiser.conv0.weight,
                       full['data_preprocessor.denoiser.conv0.weight'])


def test_noise_is_seeded_per_image_and_off_by_default(denoiser_file, seg_model):
    noise = dict(type='GaussianNoise', sigma=25)
    model = build(with_denoiser(seg_model, denoiser_file, noise=noise, eval_seed=3)).eval()
    pre = model.data_preprocessor
    images = bgr_batch()
    first = pre(dict(inputs=images, data_samples=seg_samples(['a.png', 'b.png'])))['inputs']
    seeds = [image_seed('a.png', 3), image_seed('b.png', 3)]
    want = expected_inputs(images, oracle_denoiser(denoiser_file), GaussianNoise(sigma=25), seeds)
    assert torch.allclose(first, want, atol=1e-4)
    # the same image gets the same noise in another batch, at another position
    swapped = pre(dict(inputs=images[::-1], data_samples=seg_samples(['b.png', 'a.png'])))
    assert torch.allclose(swapped['inputs'][1], first[0], atol=1e-5)
    # no noise unless asked for
    clean = build(with_denoiser(seg_model, denoiser_file)).data_preprocessor(
        dict(inputs=images, data_samples=seg_samples(['a.png', 'b.png'])))['inputs']
    assert torch.allclose(clean, expected_inputs(images, oracle_denoiser(denoiser_file)),
                          atol=1e-4)
    assert (clean - first).abs().mean() > 0.01
    # training draws fresh noise each time
    one = pre(dict(inputs=images, data_samples=seg_samples(['a.png', 'b.png'])), True)
    two = pre(dict(inputs=images, data_samples=seg_samples(['a.png', 'b.png'])), True)
    assert not torch.allclose(one['inputs'], two['inputs'])


def test_classifier_trains_behind_the_frozen_denoiser_with_batch_augments(denoiser_file,
                                                                          cls_model):
    """mmpretrain's ImageClassifier hands ``train_cfg.augments`` to its preprocessor as
    ``batch_augments``; the task model trains, the denoiser stays frozen in eval mode."""
    cfg = with_denoiser(cls_model, denoiser_file)
    cfg['train_cfg'] = dict(augments=dict(type='Mixup', alpha=1.0))
    model = build(cfg, 'mmpretrain')
    pre = model.data_preprocessor
    assert pre.task_preprocessor.batch_augments is not None
    model.train()
    assert not pre.denoiser.training and model.backbone.training
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    torch.manual_seed(0)  # Mixup's lambda and permutation
    batch = pre(dict(inputs=bgr_batch(4), data_samples=copy.deepcopy(samples)), True)
    scores = torch.stack([s.gt_score for s in batch['data_samples']])
    assert ((scores > 0) & (scores < 1)).any()  # mixed labels: the batch augments ran
    denoiser_before = copy.deepcopy(pre.denoiser.state_dict())
    head_before = model.head.fc.weight.clone()
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1)))
    log = model.train_step(dict(inputs=bgr_batch(4), data_samples=samples), optim)
    assert torch.isfinite(log['loss'])
    assert not torch.equal(model.head.fc.weight, head_before)
    assert all(p.grad is None for p in pre.denoiser.parameters())
    for key, value in pre.denoiser.state_dict().items():  # BN statistics included
        assert torch.equal(value, denoiser_before[key]), key


def test_bad_inputs_name_the_problem(denoiser_file, tmp_path, cls_model):
    init_default_scope('mmpretrain')
    with pytest.raises(TypeError, match="no 'type'|with a 'type'.*ClsDataPreprocessor"):
        MODELS.build(dict(type='mmsemdenoise.DenoisingDataPreprocessor', denoiser=DENOISER,
                          denoiser_checkpoint=str(denoiser_file),
                          task_preprocessor=dict(mean=MEAN, std=STD)))
    other = tmp_path / 'other.pth'
    small = MODELS.build(dict(type='ThreeScaleDenoiser', base_channels=4, _scope_='mmsemdenoise'))
    torch.save(small.state_dict(), other)
    with pytest.raises(CheckpointMismatchError, match='other.pth.*shape mismatches'):
        MODELS.build(dict(type='mmsemdenoise.DenoisingDataPreprocessor', denoiser=DENOISER,
                          denoiser_checkpoint=str(other),
                          task_preprocessor=cls_model['data_preprocessor']))
    with pytest.warns(UserWarning, match='no denoiser_checkpoint'):
        MODELS.build(dict(type='mmsemdenoise.DenoisingDataPreprocessor', denoiser=DENOISER,
                          task_preprocessor=cls_model['data_preprocessor']))


def test_denoiser_runs_without_grad_under_autocast_and_returns_float(denoiser_file, cls_model):
    model = build(with_denoiser(cls_model, denoiser_file), 'mmpretrain').eval()
    images = [img.float().requires_grad_() for img in bgr_batch()]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model.data_preprocessor(dict(inputs=images))['inputs']
    assert out.dtype == torch.float32 and not out.requires_grad
    want = expected_inputs(bgr_batch(), oracle_denoiser(denoiser_file))
    assert (out - want).abs().mean() < 0.05  # bfloat16 denoiser, same result


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_moves_with_the_model_to_cuda(denoiser_file, seg_model):
    model = build(with_denoiser(seg_model, denoiser_file)).eval().cuda()
    out = model.data_preprocessor(dict(inputs=bgr_batch(),
                                       data_samples=seg_samples(['a.png', 'b.png'])))
    assert out['inputs'].is_cuda
    want = expected_inputs(bgr_batch(), oracle_denoiser(denoiser_file))
    assert torch.allclose(out['inputs'].cpu(), want, atol=1e-3)


def test_non_blind_denoiser_gets_the_given_noise_level(tmp_path, cls_model):
    """FFDNet needs sigma: ``noise_level`` (0-255 scale) for real photos without ``noise``."""
    init_default_scope('mmsemdenoise')
    torch.manual_seed(0)
    ffdnet_cfg = dict(type='FFDNet', channels=8, num_layers=3)
    net = MODELS.build(ffdnet_cfg).eval()
    torch.save(net.state_dict(), tmp_path / 'ffdnet.pth')
    pre = MODELS.build(dict(type='DenoisingDataPreprocessor', denoiser=ffdnet_cfg,
                            denoiser_checkpoint=str(tmp_path / 'ffdnet.pth'),
                            task_preprocessor=dict(cls_model['data_preprocessor'],
                                                   _scope_='mmpretrain'),
                            noise_level=25)).eval()
    images = bgr_batch()
    got = pre(dict(inputs=images))['inputs']
    with torch.no_grad():
        low = expected_inputs(images, lambda x: net(x, torch.full((2, ), 5 / 255)))
        want = expected_inputs(images, lambda x: net(x, torch.full((2, ), 25 / 255)))
    assert torch.allclose(got, want, atol=1e-4) and not torch.allclose(got, low, atol=1e-3)
    pre.noise_level = None
    with pytest.raises(ValueError, match='non-blind'):
        pre(dict(inputs=images))
