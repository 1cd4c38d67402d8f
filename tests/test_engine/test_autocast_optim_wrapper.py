"""AutocastOptimWrapper: bfloat16 forward on CPU through mmengine's own train_step, fp32 weights."""
import warnings

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmsemdenoise.registry import MODELS
from mmsemdenoise.utils.device import cpu_has_native_bfloat16


def stage_one_model():
    init_default_scope('mmsemdenoise')
    model = MODELS.build(ConfigDict(
        type='DenoisingCascade', data_preprocessor=dict(type='PixelPreprocessor'),
        denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
        noise=dict(type='GaussianNoise', sigma=25),
        loss=dict(type='JointLoss', rec_loss=dict(type='MSELoss'))))
    model.init_weights()
    return model.train()


def batch():
    g = torch.Generator().manual_seed(0)
    return dict(inputs=[torch.randint(0, 256, (3, 32, 32), generator=g, dtype=torch.uint8)
                        for _ in range(2)])


def conv_output_dtypes(model, optim_wrapper):
    dtypes = []
    hook = model.denoiser.conv0.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    weights_before = {k: v.clone() for k, v in model.denoiser.named_parameters()}
    log = model.train_step(batch(), optim_wrapper)
    hook.remove()
    assert torch.isfinite(log['loss'])
    for name, param in model.denoiser.named_parameters():
        assert param.dtype == torch.float32  # master weights (and so Adam's state) stay fp32
        assert not torch.equal(param, weights_before[name]), f'{name} not updated'
    return dtypes


def test_forward_runs_in_bfloat16_and_weights_stay_float32():
    model = stage_one_model()
    optim = build_optim_wrapper(model, dict(type='AutocastOptimWrapper', cpu_fallback=False,
                                            optimizer=dict(type='Adam', lr=1e-3)))
    assert conv_output_dtypes(model, optim) == [torch.bfloat16]
    # the same model with the plain wrapper runs in float32: the dtype comes from the wrapper
    plain = build_optim_wrapper(model, dict(type='OptimWrapper', optimizer=dict(type='Adam')))
    assert conv_output_dtypes(model, plain) == [torch.float32]


def test_float16_is_refused_with_a_pointer_to_amp():
    model = stage_one_model()
    with pytest.raises(ValueError, match='AmpOptimWrapper'):
        build_optim_wrapper(model, dict(type='AutocastOptimWrapper', dtype='float16',
                                        optimizer=dict(type='Adam')))


def test_cpu_without_native_bfloat16_falls_back_to_float32_with_one_warning():
    """Emulated bfloat16 is ~9x slower than float32: by default the wrapper only casts on a CPU
    that has it (the answer depends on this machine; both branches are checked against it)."""
    model = stage_one_model()
    optim = build_optim_wrapper(model, dict(type='AutocastOptimWrapper',
                                            optimizer=dict(type='Adam', lr=1e-3)))
    native = cpu_has_native_bfloat16()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        dtypes = conv_output_dtypes(model, optim) + conv_output_dtypes(model, optim)
    fallback = [w for w in caught if 'no native bfloat16' in str(w.message)]
    if native:
        assert dtypes == [torch.bfloat16] * 2 and not fallback
    else:
        assert dtypes == [torch.float32] * 2 and len(fallback) == 1  # warned once
