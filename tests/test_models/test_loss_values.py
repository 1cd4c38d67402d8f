"""Value tests: the losses, the pixel preprocessor and the optimizer constructor against hand
computations, with real modules (no mocks), so that a wrong implementation fails."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmsemdenoise.models.cascade.data_preprocessor import PixelPreprocessor
from mmsemdenoise.models.losses import (CharbonnierLoss, JointLoss, L1Loss, MSELoss,
                                        distillation_loss)
from mmsemdenoise.registry import MODELS


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmsemdenoise')


def _pair(shape=(2, 3, 5, 7), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g), torch.rand(shape, generator=g)


# --------------------------------------------------------------------------------------------
# reconstruction losses


def test_l1_loss_value():
    pred, target = _pair()
    expected = (pred - target).abs().sum() / pred.numel()
    assert torch.allclose(L1Loss()(pred, target), expected, rtol=1e-6, atol=0)
    # a hand example: |0.5| + |-1| + |0| + |2| over 4 elements
    p = torch.tensor([1.0, 0.0, 2.0, 3.0])
    t = torch.tensor([0.5, 1.0, 2.0, 1.0])
    assert L1Loss()(p, t).item() == pytest.approx(3.5 / 4)


def test_mse_loss_value():
    pred, target = _pair()
    expected = ((pred - target) ** 2).sum() / pred.numel()
    assert torch.allclose(MSELoss()(pred, target), expected, rtol=1e-6, atol=0)
    p = torch.tensor([1.0, 0.0, 2.0, 3.0])
    t = torch.tensor([0.5, 1.0, 2.0, 1.0])
    assert MSELoss()(p, t).item() == pytest.approx((0.25 + 1 + 0 + 4) / 4)


@pytest.mark.parametrize('eps', [1e-3, 0.1, 0.5])
def test_charbonnier_loss_value(eps):
    pred, target = _pair()
    expected = torch.sqrt((pred - target) ** 2 + eps ** 2).sum() / pred.numel()
    assert torch.allclose(CharbonnierLoss(eps=eps)(pred, target), expected, rtol=1e-6, atol=0)
    # identical images: the loss is exactly eps (sqrt(eps**2))
    assert CharbonnierLoss(eps=eps)(pred, pred).item() == pytest.approx(eps, rel=1e-6)
    p = torch.tensor([0.0, 3.0])
    t = torch.tensor([4.0, 3.0])
    assert CharbonnierLoss(eps=eps)(p, t).item() == pytest.approx(
        ((16 + eps ** 2) ** 0.5 + eps) / 2, rel=1e-6)


def test_charbonnier_default_eps_is_1e_3():
    pred, target = _pair()
    expected = torch.sqrt((pred - target) ** 2 + 1e-6).mean()
    assert torch.allclose(CharbonnierLoss()(pred, target), expected, rtol=1e-6, atol=0)
    assert CharbonnierLoss()(pred, pred).item() == pytest.approx(1e-3, rel=1e-5)


@pytest.mark.parametrize('loss_type', ['L1Loss', 'MSELoss', 'CharbonnierLoss'])
def test_reconstruction_losses_reject_shape_mismatch(loss_type):
    loss = MODELS.build(dict(type=loss_type))
    with pytest.raises(ValueError, match='differs from target shape'):
        loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))


# --------------------------------------------------------------------------------------------
# JointLoss


def _task_losses():
    return {
        'decode.loss_ce': torch.tensor(1.25),
        'aux.loss_ce': torch.tensor(0.5),
        'decode.acc_seg': torch.tensor(87.5),
    }


@pytest.mark.parametrize('rec_loss,rec_fn', [
    (None, lambda d, c: ((d - c) ** 2).mean()),
    (dict(type='L1Loss'), lambda d, c: (d - c).abs().mean()),
    (dict(type='CharbonnierLoss', eps=0.01),
     lambda d, c: torch.sqrt((d - c) ** 2 + 1e-4).mean()),
])
def test_joint_loss_values(rec_loss, rec_fn):
    denoised, clean = _pair()
    loss = JointLoss(rec_loss=rec_loss, rec_weight=0.7, task_weight=0.02)
    assert loss.uses_task
    out = loss(denoised, clean, _task_losses())
    assert set(out) == {'loss_rec', 'loss_task_decode.loss_ce', 'loss_task_aux.loss_ce',
                        'task_decode.acc_seg'}
    # the module's rec term is exactly rec_weight * rec_loss(denoised, clean)
    assert torch.equal(out['loss_rec'], 0.7 * loss.rec_loss(denoised, clean))
    assert torch.allclose(out['loss_rec'], 0.7 * rec_fn(denoised, clean), rtol=1e-6, atol=0)
    assert torch.equal(out['loss_task_decode.loss_ce'], 0.02 * torch.tensor(1.25))
    assert torch.equal(out['loss_task_aux.loss_ce'], 0.02 * torch.tensor(0.5))
    # extras without "loss" in the name: renamed, not weighted
    assert torch.equal(out['task_decode.acc_seg'], torch.tensor(87.5))


def test_joint_loss_default_is_mse_and_weights():
    loss = JointLoss()
    assert isinstance(loss.rec_loss, MSELoss)
    assert loss.rec_weight == 1.0 and loss.task_weight == 0.0
    assert not loss.uses_task
    denoised, clean = _pair()
    out = loss(denoised, clean)
    assert set(out) == {'loss_rec'}
    assert torch.equal(out['loss_rec'], F.mse_loss(denoised, clean))


def test_joint_loss_task_weight_zero():
    loss = JointLoss(task_weight=0)
    assert not loss.uses_task
    denoised, clean = _pair()
    out = loss(denoised, clean, _task_losses())
    assert out['loss_task_decode.loss_ce'].item() == 0.0
    assert out['loss_task_aux.loss_ce'].item() == 0.0


def test_joint_loss_list_valued_task_loss():
    loss = JointLoss(task_weight=0.5)
    denoised, clean = _pair()
    out = loss(denoised, clean, {'loss_list': [torch.tensor(2.0), torch.tensor(4.0)]})
    assert isinstance(out['loss_task_loss_list'], list)
    assert [v.item() for v in out['loss_task_loss_list']] == [1.0, 2.0]


def test_joint_loss_mixed_sizes_average_per_image():
    g = torch.Generator().manual_seed(1)
    denoised = [torch.rand(3, 4, 4, generator=g), torch.rand(3, 6, 2, generator=g),
                torch.rand(3, 8, 8, generator=g)]
    clean = [torch.rand(d.shape, generator=g) for d in denoised]
    out = JointLoss(rec_weight=2.0)(denoised, clean)
    per_image = [((d - c) ** 2).mean() for d, c in zip(denoised, clean)]
    expected = 2.0 * sum(per_image) / 3
    assert torch.allclose(out['loss_rec'], expected, rtol=1e-6, atol=0)
    # every image counts the same: not the pixel-weighted mean
    pooled = 2.0 * torch.cat([((d - c) ** 2).flatten() for d, c in zip(denoised, clean)]).mean()
    assert not torch.allclose(out['loss_rec'], pooled)


@pytest.mark.parametrize('kwargs', [dict(rec_weight=-1.0), dict(task_weight=-0.1),
                                    dict(rec_weight=-1.0, task_weight=-1.0)])
def test_joint_loss_negative_weights_raise(kwargs):
    with pytest.raises(ValueError, match='loss weights must be >= 0'):
        JointLoss(**kwargs)


class _TinyModel(BaseModel):
    """A real BaseModel, only to call mmengine's ``parse_losses`` on JointLoss's output."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.conv(inputs)


def test_parse_losses_sums_only_loss_terms():
    denoised, clean = _pair()
    loss = JointLoss(rec_weight=1.5, task_weight=0.25)
    out = loss(denoised, clean, _task_losses())
    total, log_vars = _TinyModel().parse_losses(out)
    expected = 1.5 * F.mse_loss(denoised, clean) + 0.25 * 1.25 + 0.25 * 0.5
    assert torch.allclose(total, expected, rtol=1e-6, atol=0)
    assert log_vars['loss'] == pytest.approx(expected.item(), rel=1e-6)
    # the accuracy is logged, not summed
    assert log_vars['task_decode.acc_seg'] == pytest.approx(87.5)
    assert log_vars['loss_task_decode.loss_ce'] == pytest.approx(0.3125)
    assert log_vars['loss_task_aux.loss_ce'] == pytest.approx(0.125)


# --------------------------------------------------------------------------------------------
# distillation_loss


def _hand_kl(student, teacher, t):
    log_ps = torch.log_softmax(student / t, dim=1)
    pt = torch.softmax(teacher / t, dim=1)
    log_pt = torch.log_softmax(teacher / t, dim=1)
    kl = (pt * (log_pt - log_ps)).sum(dim=1)  # (N,) or (N, H, W)
    return kl.mean() * t ** 2


@pytest.mark.parametrize('temperature', [1.0, 2.0])
@pytest.mark.parametrize('shape', [(4, 5), (2, 3, 4, 6)], ids=['cls', 'seg'])
def test_distillation_loss_matches_hand_kl(shape, temperature):
    g = torch.Generator().manual_seed(0)
    student = 3 * torch.randn(shape, generator=g)
    teacher = 3 * torch.randn(shape, generator=g)
    value = distillation_loss(student, teacher, temperature=temperature)
    assert value.shape == ()
    expected = _hand_kl(student, teacher, temperature)
    assert torch.allclose(value, expected, rtol=1e-5, atol=1e-7)
    # the same through torch's KL: sum over classes, mean over images (and pixels)
    n_positions = student.numel() // student.shape[1]
    kl_sum = F.kl_div(F.log_softmax(student / temperature, dim=1),
                      F.log_softmax(teacher / temperature, dim=1), log_target=True,
                      reduction='sum')
    assert torch.allclose(value, kl_sum / n_positions * temperature ** 2, rtol=1e-5, atol=1e-7)
    assert value.item() > 0
    # KL(teacher || student), not KL(student || teacher)
    assert not torch.allclose(value, _hand_kl(teacher, student, temperature))


def test_distillation_loss_temperature_scaling_differs():
    g = torch.Generator().manual_seed(3)
    student, teacher = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    t1 = distillation_loss(student, teacher, temperature=1.0)
    t2 = distillation_loss(student, teacher, temperature=2.0)
    # T**2 factor: the T=2 value is 4 * KL at T=2, not KL at T=2
    log_ps = torch.log_softmax(student / 2, dim=1)
    log_pt = torch.log_softmax(teacher / 2, dim=1)
    raw = (log_pt.exp() * (log_pt - log_ps)).sum(1).mean()
    assert torch.allclose(t2, 4 * raw, rtol=1e-5)
    assert not torch.allclose(t1, t2)


@pytest.mark.parametrize('shape', [(4, 5), (2, 3, 4, 6)], ids=['cls', 'seg'])
@pytest.mark.parametrize('temperature', [1.0, 2.0])
def test_distillation_loss_zero_when_equal(shape, temperature):
    logits = 5 * torch.randn(shape, generator=torch.Generator().manual_seed(2))
    value = distillation_loss(logits, logits.clone(), temperature=temperature)
    assert value.item() == pytest.approx(0.0, abs=1e-6)


def test_distillation_loss_shape_mismatch_raises():
    with pytest.raises(ValueError, match='differ in shape'):
        distillation_loss(torch.zeros(2, 3), torch.zeros(2, 4))


# --------------------------------------------------------------------------------------------
# PixelPreprocessor


def _bgr_images(n=2, h=3, w=4):
    """uint8 (3, H, W) images with distinct constant channels B=10, G=100, R=250 plus noise."""
    g = torch.Generator().manual_seed(0)
    images = []
    for _ in range(n):
        img = torch.empty(3, h, w, dtype=torch.uint8)
        img[0] = 10
        img[1] = 100
        img[2] = 250
        img[:, 0, 0] = torch.randint(0, 256, (3,), generator=g, dtype=torch.uint8)
        images.append(img)
    return images


def test_pixel_preprocessor_bgr_to_rgb_exact():
    images = _bgr_images()
    pre = PixelPreprocessor()
    out = pre(dict(inputs=images, data_samples=None))['inputs']
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float32 and out.shape == (2, 3, 3, 4)
    assert out.min() >= 0 and out.max() <= 1
    expected = torch.stack([img.flip(0).float() / 255 for img in images])
    assert torch.equal(out, expected)
    # channel 0 of the output is the pipeline's R (250), channel 2 its B (10)
    assert torch.equal(out[:, 0, 1:, :], torch.full((2, 2, 4), 250 / 255))
    assert torch.equal(out[:, 1, 1:, :], torch.full((2, 2, 4), 100 / 255))
    assert torch.equal(out[:, 2, 1:, :], torch.full((2, 2, 4), 10 / 255))
    # white and black map to 1 and 0 exactly
    bw = torch.stack([torch.zeros(3, 2, 2, dtype=torch.uint8),
                      torch.full((3, 2, 2), 255, dtype=torch.uint8)])
    out_bw = pre(dict(inputs=bw))['inputs']
    assert torch.equal(out_bw[0], torch.zeros(3, 2, 2))
    assert torch.equal(out_bw[1], torch.ones(3, 2, 2))


def test_pixel_preprocessor_keeps_order_without_flip():
    images = _bgr_images()
    pre = PixelPreprocessor(bgr_to_rgb=False)
    out = pre(dict(inputs=images))['inputs']
    assert torch.equal(out, torch.stack([img.float() / 255 for img in images]))
    assert torch.equal(out[:, 0, 1:, :], torch.full((2, 2, 4), 10 / 255))
    assert torch.equal(out[:, 2, 1:, :], torch.full((2, 2, 4), 250 / 255))


@pytest.mark.parametrize('bgr_to_rgb', [True, False])
def test_pixel_preprocessor_round_trip(bgr_to_rgb):
    g = torch.Generator().manual_seed(5)
    images = [torch.randint(0, 256, (3, 5, 6), generator=g, dtype=torch.uint8) for _ in range(3)]
    pre = PixelPreprocessor(bgr_to_rgb=bgr_to_rgb)
    out = pre(dict(inputs=images))['inputs']
    back = pre.to_pipeline_format(out)
    assert isinstance(back, list) and len(back) == 3
    for b, img in zip(back, images):
        assert b.shape == (3, 5, 6) and b.dtype == torch.float32
        assert torch.equal(b.round(), img.float())  # the pipeline's values and channel order
        assert torch.allclose(b, img.float(), rtol=0, atol=1e-4)


def test_pixel_preprocessor_round_trip_exact_on_float_inputs():
    # pixel_max=1: floats in [0, 1], no rounding at all
    g = torch.Generator().manual_seed(6)
    images = torch.rand(2, 3, 4, 4, generator=g)
    pre = PixelPreprocessor(pixel_max=1.0)
    out = pre(dict(inputs=images))['inputs']
    assert torch.equal(out, images.flip(1))
    back = pre.to_pipeline_format(out)
    assert all(torch.equal(b, img) for b, img in zip(back, images))


def test_pixel_preprocessor_mixed_sizes_stay_a_list():
    images = [torch.full((3, 2, 2), 51, dtype=torch.uint8),
              torch.full((3, 4, 3), 204, dtype=torch.uint8)]
    out = PixelPreprocessor()(dict(inputs=images))['inputs']
    assert isinstance(out, list) and len(out) == 2
    assert torch.equal(out[0], torch.full((3, 2, 2), 0.2))
    assert torch.equal(out[1], torch.full((3, 4, 3), 0.8))


def test_pixel_preprocessor_rejects_non_rgb():
    with pytest.raises(ValueError, match='expected a \\(3, H, W\\) tensor'):
        PixelPreprocessor()(dict(inputs=[torch.zeros(1, 4, 4, dtype=torch.uint8)]))


# --------------------------------------------------------------------------------------------
# TrainableParamsOptimWrapperConstructor


class _FrozenAndTrainable(nn.Module):

    def __init__(self):
        super().__init__()
        self.frozen = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.trainable = nn.Sequential(nn.Conv2d(4, 3, 1), nn.BatchNorm2d(3))
        self.frozen.requires_grad_(False)


def _build(model, **extra):
    return build_optim_wrapper(model, dict(
        constructor='TrainableParamsOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4), **extra))


def test_constructor_keeps_only_trainable_params():
    model = _FrozenAndTrainable()
    optim = _build(model)
    params = [p for g in optim.optimizer.param_groups for p in g['params']]
    assert len(params) == len({id(p) for p in params})  # no duplicates
    assert {id(p) for p in params} == {id(p) for p in model.trainable.parameters()}
    assert {id(p) for p in params} == {id(p) for p in model.parameters() if p.requires_grad}
    assert all(p.requires_grad for p in params)
    assert optim.optimizer.param_groups[0]['lr'] == 0.1


def test_constructor_with_paramwise_cfg_drops_empty_groups():
    model = _FrozenAndTrainable()
    # paramwise_cfg makes one group per parameter: the frozen ones' groups must go away
    optim = _build(model, paramwise_cfg=dict(norm_decay_mult=0.0))
    groups = optim.optimizer.param_groups
    assert all(g['params'] for g in groups)
    params = [p for g in groups for p in g['params']]
    assert {id(p) for p in params} == {id(p) for p in model.trainable.parameters()}
    assert len(groups) == len(list(model.trainable.parameters()))
    # norm_decay_mult still applies to the trainable BN
    bn_ids = {id(p) for p in model.trainable[1].parameters()}
    for g in groups:
        if id(g['params'][0]) in bn_ids:
            assert g['weight_decay'] == 0.0
        else:
            assert g['weight_decay'] == pytest.approx(1e-4)


def test_constructor_step_leaves_frozen_params_unchanged():
    torch.manual_seed(0)
    model = _FrozenAndTrainable()
    optim = _build(model)
    frozen_before = {k: v.clone() for k, v in model.frozen.state_dict().items()
                     if 'running' not in k and 'num_batches' not in k}
    trainable_before = {k: v.clone() for k, v in model.trainable.named_parameters()}
    x = torch.rand(2, 3, 6, 6)
    optim.update_params(model.trainable(model.frozen(x)).pow(2).mean())
    for k, v in frozen_before.items():
        assert torch.equal(model.frozen.state_dict()[k], v)
    assert any(not torch.equal(p, trainable_before[k])
               for k, p in model.trainable.named_parameters())
    assert all(id(p) not in {id(q) for q in model.frozen.parameters()}
               for p in optim.optimizer.state)


def test_constructor_raises_without_trainable_params():
    model = _FrozenAndTrainable()
    model.requires_grad_(False)
    with pytest.raises(ValueError,
                       match='_FrozenAndTrainable has no trainable parameter: every parameter '
                             'has requires_grad=False'):
        _build(model)
