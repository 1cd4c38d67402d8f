"""The cascade with REAL tiny mmseg and mmpretrain models: frozen task, joint loss, label-free."""
import copy
from pathlib import Path

import pytest
import torch
from torch import nn
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from mmsemdenoise.registry import MODELS

TINY_MODELS = Path(__file__).resolve().parents[1] / 'configs'
SIZE = 32  # the tiny models' input side


def tiny_model(name: str) -> dict:
    """``model`` of a ``tests/configs`` file with its scope and its data preprocessor inside
    (the ``tiny_task`` fixture's, needed here at collection time for ``parametrize``)."""
    cfg = Config.fromfile(str(TINY_MODELS / name))
    model = dict(cfg.model.to_dict(), _scope_=cfg.default_scope)
    if 'data_preprocessor' not in model:  # mmpretrain: at the top level, without a type
        model['data_preprocessor'] = dict(cfg.data_preprocessor, type='ClsDataPreprocessor')
    return model


# the segmentor with an auxiliary head: its loss must enter the joint loss too
SEG_MODEL = dict(tiny_model('tiny_segmentor.py'), auxiliary_head=dict(
    type='FCNHead', in_channels=24, channels=8, num_convs=1, num_classes=3, in_index=2,
    norm_cfg=dict(type='BN'), loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)))
CLS_MODEL = tiny_model('tiny_classifier.py')
DENOISER = dict(type='ThreeScaleDenoiser', base_channels=8)


def cascade_cfg(task_model, task_weight=0.02, **kwargs):
    return dict(type='DenoisingCascade', denoiser=DENOISER,
                noise=dict(type='GaussianNoise', sigma=25), task_model=copy.deepcopy(task_model),
                loss=dict(type='JointLoss', task_weight=task_weight), **kwargs)


def seg_batch(n=2, labels=True):
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    samples = []
    for i in range(n):
        s = SegDataSample(metainfo=dict(img_path=f'img_{i}.png', img_shape=(SIZE, SIZE),
                                        ori_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE)))
        if labels:
            s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, SIZE, SIZE), generator=g))
        samples.append(s)
    inputs = [torch.randint(0, 256, (3, SIZE, SIZE), generator=g, dtype=torch.uint8)
              for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def cls_batch(n=2, labels=True):
    from mmpretrain.structures import DataSample
    g = torch.Generator().manual_seed(0)
    samples = [DataSample(metainfo=dict(img_path=f'img_{i}.png')) for i in range(n)]
    if labels:
        for i, s in enumerate(samples):
            s.set_gt_label(i % 5)
    inputs = [torch.randint(0, 256, (3, SIZE, SIZE), generator=g, dtype=torch.uint8)
              for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def build(cfg):
    init_default_scope('mmsemdenoise')
    model = MODELS.build(ConfigDict(cfg))  # as from a config file (mmseg reads test_cfg.mode)
    model.init_weights()
    return model


def task_state(model):
    return {k: v.clone() for k, v in model.task_model.state_dict().items()}


@pytest.mark.parametrize('task_model,make_batch', [(SEG_MODEL, seg_batch), (CLS_MODEL, cls_batch)],
                         ids=['mmseg', 'mmpretrain'])
def test_training_updates_denoiser_only(task_model, make_batch):
    torch.manual_seed(0)
    model = build(cascade_cfg(task_model))
    model.train()
    optim = build_optim_wrapper(model, dict(
        constructor='TrainableParamsOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)))
    # the optimizer holds exactly the denoiser's parameters
    in_optim = {id(p) for g in optim.optimizer.param_groups for p in g['params']}
    assert in_optim == {id(p) for p in model.denoiser.parameters()}
    task_before = task_state(model)
    den_before = {k: v.clone() for k, v in model.denoiser.named_parameters()}
    for _ in range(2):
        log = model.train_step(make_batch(), optim)
    assert not model.task_model.training  # eval mode kept while the cascade trains
    for key, value in model.task_model.state_dict().items():  # params AND BN buffers
        assert torch.equal(value, task_before[key]), f'task tensor {key} changed'
    for name, param in model.denoiser.named_parameters():
        assert not torch.equal(param, den_before[name]), f'denoiser parameter {name} unchanged'
    assert all(p.grad is None for p in model.task_model.parameters())
    assert 'loss_rec' in log and 'loss' in log
    task_keys = [k for k in log if k.startswith('loss_task_')]
    assert task_keys, log.keys()
    if task_model is SEG_MODEL:
        assert {'loss_task_decode.loss_ce', 'loss_task_aux.loss_ce', 'task_decode.acc_seg'} <= \
            set(log)


@pytest.mark.parametrize('task_model,make_batch', [(SEG_MODEL, seg_batch), (CLS_MODEL, cls_batch)],
                         ids=['mmseg', 'mmpretrain'])
@pytest.mark.parametrize('task_target', ['labels', 'clean_prediction'])
def test_task_gradient_reaches_denoiser(task_model, make_batch, task_target):
    model = build(cascade_cfg(task_model, task_weight=1.0, task_target=task_target))
    model.joint_loss.rec_weight = 0.0  # only the task term
    data = model.data_preprocessor(make_batch(labels=task_target == 'labels'), True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    grads = [p.grad for p in model.denoiser.parameters()]
    assert all(g is not None for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0
    assert all(p.grad is None for p in model.task_model.parameters())
    if task_target == 'clean_prediction':
        assert set(k for k in losses if 'loss' in k) == {'loss_rec', 'loss_task_loss_distill'}


def test_zero_lambda_is_stage_one():
    torch.manual_seed(0)
    cascade = build(cascade_cfg(SEG_MODEL, task_weight=0.0))
    stage1 = build(dict(type='DenoisingCascade', denoiser=DENOISER,
                        noise=dict(type='GaussianNoise', sigma=25)))
    stage1.denoiser.load_state_dict(cascade.denoiser.state_dict())
    batch = seg_batch()
    data = cascade.data_preprocessor(batch, True)
    torch.manual_seed(1)
    with_task = cascade(**data, mode='loss')
    torch.manual_seed(1)
    without_task = stage1(**data, mode='loss')
    assert set(with_task) == {'loss_rec'}
    assert torch.allclose(with_task['loss_rec'], without_task['loss_rec'])


def test_seeded_training_noise_follows_the_image_and_the_iteration():
    """``train_noise_seed``: an image's noise depends on its id and the iteration only."""
    from mmengine.logging import MessageHub
    model = build(dict(type='DenoisingCascade', denoiser=None, train_noise_seed=7,
                       noise=dict(type='GaussianNoise', sigma=(10, 50))))
    data = model.data_preprocessor(seg_batch(n=3), True)
    inputs, samples = data['inputs'], data['data_samples']
    hub = MessageHub.get_instance('test_seeded_training_noise')
    hub.update_info('iter', 3)
    torch.manual_seed(0)
    whole = model(inputs, samples, mode='loss')['loss_rec']
    torch.manual_seed(1)  # the global generator plays no part
    parts = [model(inputs[i:i + 1], samples[i:i + 1], mode='loss')['loss_rec'] for i in (2, 0, 1)]
    torch.testing.assert_close(whole, torch.stack(parts).mean())
    hub.update_info('iter', 4)
    assert not torch.allclose(whole, model(inputs, samples, mode='loss')['loss_rec'])
    MessageHub.get_instance('test_seeded_training_noise_no_iter')
    with pytest.raises(RuntimeError, match="reads the iteration from mmengine's MessageHub"):
        model(inputs, samples, mode='loss')


def test_predict_is_seeded_and_keeps_images():
    model = build(cascade_cfg(SEG_MODEL)).eval()
    data = model.data_preprocessor(seg_batch(), False)
    with torch.no_grad():
        first = model(**data, mode='predict')
        # another batch composition: the same image gets the same noise
        single = model(data['inputs'][1:], data['data_samples'][1:], mode='predict')
    assert first[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
    # same noise; the conv results differ only by float rounding between batch sizes
    assert torch.allclose(first[1].pred_img, single[0].pred_img, atol=1e-3)
    assert first[0].pred_img.min() >= 0 and first[0].pred_img.max() <= 255
    assert torch.equal(first[0].gt_img, data['inputs'][0] * 255)


def test_task_checkpoint_loaded_and_mismatch_reported(tmp_path):
    source = build(cascade_cfg(SEG_MODEL))
    for p in source.task_model.parameters():
        torch.nn.init.normal_(p)
    path = tmp_path / 'task.pth'
    torch.save({'state_dict': source.task_model.state_dict(), 'meta': {}}, path)
    model = build(cascade_cfg(SEG_MODEL, task_checkpoint=str(path)))
    for key, value in source.task_model.state_dict().items():
        assert torch.equal(model.task_model.state_dict()[key], value), key
    assert all(not p.requires_grad for p in model.task_model.parameters())

    broken = dict(source.task_model.state_dict())
    broken.pop('decode_head.conv_seg.weight')
    torch.save({'state_dict': broken}, path)
    with pytest.raises(KeyError, match='missing keys: decode_head.conv_seg.weight'):
        build(cascade_cfg(SEG_MODEL, task_checkpoint=str(path)))


def test_mixed_size_batch_trains():
    model = build(cascade_cfg(SEG_MODEL)).train()
    batch = seg_batch()
    batch['inputs'][1] = batch['inputs'][1][:, :24, :28]
    batch['data_samples'][1].gt_sem_seg = PixelData(data=torch.zeros(1, 24, 28, dtype=torch.long))
    data = model.data_preprocessor(batch, True)
    assert isinstance(data['inputs'], list)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_rec']) and 'loss_task_decode.loss_ce' in losses


def test_loss_under_autocast():
    """AMP-safe data flow: noise, denoiser, task model and losses under autocast (bf16 on CPU)."""
    model = build(cascade_cfg(SEG_MODEL, task_weight=1.0)).train()
    data = model.data_preprocessor(seg_batch(), True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is not None for p in model.denoiser.parameters())


@pytest.mark.parametrize('task_float32', [False, True])
def test_task_float32_under_autocast(task_float32):
    """task_float32: under bfloat16 autocast the denoiser casts, the frozen task model does not."""
    model = build(cascade_cfg(SEG_MODEL, task_weight=1.0, task_float32=task_float32)).train()
    dtypes = {}

    def keep(name):
        def hook(module, args, output):
            dtypes.setdefault(name, output.dtype)
        return hook

    convs = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    handles = [m.register_forward_hook(keep(name)) for name, m in convs.items()]
    data = model.data_preprocessor(seg_batch(), True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(**data, mode='loss')
    for handle in handles:
        handle.remove()
    task_dtype = torch.float32 if task_float32 else torch.bfloat16
    for name, dtype in dtypes.items():
        assert dtype == (task_dtype if name.startswith('task_model.') else torch.bfloat16), name
    total, _ = model.parse_losses(losses)
    total.backward()
    assert all(p.grad is not None for p in model.denoiser.parameters())
    assert all(p.grad is None for p in model.task_model.parameters())


def _calibrate_batch_norm(task: nn.Module) -> None:
    """Give a random-init task model outputs that follow its input.

    With batch norm's initial running statistics (mean 0, variance 1) the random MobileNetV2s
    here answer the same for every image (logits equal to 1e-7). One training-mode pass with
    momentum 1 on normalised-image-like inputs sets the statistics from data."""
    for module in task.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = 1.0
    task.train()
    with torch.no_grad():
        task(torch.randn(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1)),
             mode='tensor')
    task.eval()


@pytest.mark.parametrize('task_model,make_batch,field,score', [
    (SEG_MODEL, seg_batch, 'pred_sem_seg', 'seg_logits'),
    (CLS_MODEL, cls_batch, 'pred_label', 'pred_score')], ids=['mmseg', 'mmpretrain'])
def test_predict_clean_keeps_the_clean_prediction(task_model, make_batch, field, score):
    """predict_clean=True: each result carries the task prediction on the CLEAN image."""
    torch.manual_seed(0)
    model = build(cascade_cfg(task_model, predict_clean=True,
                              test_noise=dict(type='GaussianNoise', sigma=120))).eval()
    _calibrate_batch_norm(model.task_model)
    clean_only = build(dict(cascade_cfg(task_model, test_noise=dict(type='GaussianNoise', sigma=0)),
                            denoiser=None))
    clean_only.load_state_dict(model.state_dict(), strict=False)
    clean_only.eval()
    data = model.data_preprocessor(make_batch(), False)
    with torch.no_grad():
        results = model(**data, mode='predict')
        reference = clean_only(**clean_only.data_preprocessor(make_batch(), False),
                               mode='predict')

    def value(sample):
        v = getattr(sample, field)
        return v.data if hasattr(v, 'data') else v

    for result, ref in zip(results, reference):
        assert result.clean_prediction is not result
        # the clean prediction is the task model's answer on the clean image, not overwritten
        # by the prediction on the denoised noisy image that the same head writes in place
        assert torch.equal(value(result.clean_prediction), value(ref))
        # and it is a different answer from the one on the (sigma 120) noisy image: the model's
        # output depends on its input, so a "clean" prediction made on the noisy one would fail
        noisy_score, clean_score = getattr(result, score), getattr(result.clean_prediction, score)
        noisy_score = getattr(noisy_score, 'data', noisy_score)
        clean_score = getattr(clean_score, 'data', clean_score)
        assert (noisy_score - clean_score).abs().max() > 1e-3
    assert not hasattr(reference[0], 'clean_prediction')  # off by default


def test_predict_clean_needs_no_denoiser_change():
    """Same denoised predictions with and without predict_clean."""
    torch.manual_seed(0)
    plain = build(cascade_cfg(SEG_MODEL)).eval()
    with_clean = build(cascade_cfg(SEG_MODEL, predict_clean=True))
    with_clean.load_state_dict(plain.state_dict())
    with_clean.eval()
    data = plain.data_preprocessor(seg_batch(), False)
    with torch.no_grad():
        a = plain(**data, mode='predict')
        b = with_clean(**plain.data_preprocessor(seg_batch(), False), mode='predict')
    for x, y in zip(a, b):
        assert torch.equal(x.pred_sem_seg.data, y.pred_sem_seg.data)
        assert torch.equal(x.pred_img, y.pred_img)


def test_inherited_task_preprocessor_is_refused_with_its_cause(tiny_task, tmp_path):
    """mmengine's Runner gives the top-level ``data_preprocessor`` of an inherited mmseg config
    to a cascade that names none: a clear error instead of a registry KeyError."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    (tmp_path / 'cascade.py').write_text(f"""_base_ = '{tiny_task.config['seg']}'
default_scope = 'mmsemdenoise'
model = dict(_delete_=True, type='DenoisingCascade',
             denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
             task_model=dict(_base_.model, _scope_='mmseg'))
work_dir = '{tmp_path / 'work'}'
""")
    cfg = Config.fromfile(str(tmp_path / 'cascade.py'))
    assert cfg.data_preprocessor.type == 'SegDataPreProcessor'  # the segmentor's, inherited
    with pytest.raises(ValueError, match="data_preprocessor type 'SegDataPreProcessor' is not "
                       "one of the cascade's.*top-level `data_preprocessor`"):
        Runner.from_cfg(cfg)
    cfg.model.data_preprocessor = dict(type='PixelPreprocessor', bgr_to_rgb=True)
    model = Runner.from_cfg(cfg).model
    assert type(model.data_preprocessor).__name__ == 'PixelPreprocessor'
    assert type(model.task_model.data_preprocessor).__name__ == 'SegDataPreProcessor'


def test_mixed_size_batch_equals_its_images_one_by_one():
    """One batch form (ImageBatch): a batch of mixed sizes gives each image what that image gets
    alone, in training (per-image noise seeds, every image counts the same in the loss) and in
    prediction."""
    from mmengine.logging import MessageHub
    MessageHub.get_current_instance().update_info('iter', 3)
    model = build(cascade_cfg(CLS_MODEL, task_weight=1.0, task_target='clean_prediction',
                              train_noise_seed=7)).train()
    batch = cls_batch(n=3)
    batch['inputs'][1] = batch['inputs'][1][:, :24, :28]

    def part(i):
        return dict(inputs=batch['inputs'][i:i + 1], data_samples=batch['data_samples'][i:i + 1])

    def losses(data, training):
        data = model.data_preprocessor(copy.deepcopy(data), training)
        return model(**data, mode='loss')

    whole = losses(batch, True)
    alone = [losses(part(i), True) for i in range(3)]
    for key in ('loss_rec', 'loss_task_loss_distill'):
        mean = torch.stack([a[key] for a in alone]).mean()
        assert torch.allclose(whole[key], mean, rtol=1e-6, atol=0), key
    model.eval()
    preds = model.test_step(copy.deepcopy(batch))
    for i in range(3):
        (pred, ) = model.test_step(copy.deepcopy(part(i)))
        assert torch.equal(preds[i].pred_img, pred.pred_img)
        assert torch.equal(preds[i].pred_score, pred.pred_score)
