"""Fuzzed sizes and inputs: every registered denoiser returns the input's size or a clear error.

Sizes from 1x1 to 300x300 (ones, primes, odd/even, a few seeded random ones), every padding
mode; then inputs that are not a batch of images at all. Small networks, CPU, seconds.
"""
import inspect

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

import mmsemdenoise.models.denoisers as denoisers
from mmsemdenoise.models.denoisers.three_scale import CROP, PADDING_MODES
from mmsemdenoise.registry import MODELS

SIZES = [(1, 1), (1, 300), (300, 1), (2, 2), (2, 3), (6, 6), (7, 7), (8, 9), (13, 17),
         (97, 101), (300, 300)]
SIZES += [tuple(int(v) for v in np.random.default_rng(0).integers(1, 301, 2)) for _ in range(3)]

#: name -> denoiser config; one entry per registered denoiser (and padding mode).
DENOISERS = {f'ThreeScaleDenoiser-{mode}': dict(type='ThreeScaleDenoiser', base_channels=4,
                                                padding_mode=mode) for mode in PADDING_MODES}
DENOISERS.update({
    'DnCNN': dict(type='DnCNN', channels=4, num_layers=3),
    'FFDNet': dict(type='FFDNet', channels=4, num_layers=3),
    'ClassicalDenoiser-nlm': dict(type='ClassicalDenoiser', method='nlm'),
    'ClassicalDenoiser-bm3d': dict(type='ClassicalDenoiser', method='bm3d'),
})


def build(name: str):
    if name.endswith('bm3d'):
        pytest.importorskip('bm3d', reason='bm3d (the optional `bm3d` extra) is not installed')
    init_default_scope('mmsemdenoise')
    torch.manual_seed(0)
    return MODELS.build(DENOISERS[name]).eval()


def expected_output(name: str, h: int, w: int):
    """The output size, or None where a ValueError is the documented answer."""
    if name == 'ThreeScaleDenoiser-reflect':
        return (h, w) if min(h, w) >= 2 * CROP + 1 else None
    if name == 'ThreeScaleDenoiser-original':  # the unpadded network: 3 px lost per border
        ok = min(h, w) > 4 and (h - 4) % 4 == 0 and (w - 4) % 4 == 0
        return (h - 2 * CROP, w - 2 * CROP) if ok else None
    return h, w


def test_every_registered_denoiser_is_fuzzed():
    registered = {name for name, cls in MODELS.module_dict.items()
                  if inspect.getmodule(cls).__name__.startswith(denoisers.__name__)}
    assert registered == {cfg['type'] for cfg in DENOISERS.values()}


@pytest.mark.parametrize('name', DENOISERS)
def test_sizes_give_the_input_size_or_a_value_error(name):
    model = build(name)
    for h, w in SIZES:
        noisy = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(h * 1000 + w))
        level = torch.full((2, ), 25 / 255)
        size = expected_output(name, h, w)
        with torch.no_grad():
            if size is None:
                with pytest.raises(ValueError, match=f'{h} x {w}'):
                    model(noisy, level)
                continue
            out = model(noisy, level)
        assert out.shape == (2, 3, *size), (name, h, w)
        assert out.dtype == noisy.dtype and torch.isfinite(out).all(), (name, h, w)


BAD_INPUTS = {
    'no batch axis': (torch.rand(3, 8, 8), ValueError, r'shape \(N, 3, H, W\), got \(3, 8, 8\)'),
    'five axes': (torch.rand(1, 1, 3, 8, 8), ValueError, r'got \(1, 1, 3, 8, 8\)'),
    'one channel': (torch.rand(1, 1, 8, 8), ValueError, r'got \(1, 1, 8, 8\)'),
    'four channels': (torch.rand(1, 4, 8, 8), ValueError, r'got \(1, 4, 8, 8\)'),
    'zero height': (torch.rand(1, 3, 0, 8), ValueError, 'empty batch or image'),
    'empty batch': (torch.rand(0, 3, 8, 8), ValueError, 'empty batch or image'),
    'uint8 pixels': (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), ValueError,
                     'floating-point images in \\[0, 1\\], got torch.uint8'),
    'float64 images, float32 weights': (torch.rand(1, 3, 8, 8, dtype=torch.float64), ValueError,
                                        'images are torch.float64, weights torch.float32'),
    'a list': ([torch.rand(3, 8, 8)], TypeError, 'takes a Tensor .* got list'),
    'a numpy array': (np.zeros((1, 3, 8, 8), np.float32), TypeError, 'got ndarray'),
}


@pytest.mark.parametrize('name', DENOISERS)
@pytest.mark.parametrize('case', BAD_INPUTS)
def test_bad_inputs_get_a_clear_error(name, case):
    model = build(name)
    noisy, error, message = BAD_INPUTS[case]
    if name.startswith('Classical') and case.startswith('float64'):
        out = model(noisy, torch.tensor([0.1]))  # no weights: any float dtype, returned as given
        assert out.dtype == torch.float64 and out.shape == noisy.shape
        return
    with pytest.raises(error, match=f'{DENOISERS[name]["type"]}.*{message}'):
        model(noisy, torch.tensor([0.1]))


@pytest.mark.parametrize('name', [n for n in DENOISERS if not n.startswith('Classical')])
def test_bfloat16_autocast_input_is_accepted(name):
    model = build(name)
    h, w = (12, 12) if name.endswith('original') else (9, 11)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(torch.rand(1, 3, h, w).bfloat16(), torch.tensor([0.1]))
    assert out.shape[-2:] == expected_output(name, h, w)
