"""Tests of the noise models: statistics, per-image reproducibility, devices and dtypes."""
import doctest

import pytest
import torch

from mmsemdenoise.models.noise import (GaussianNoise, JPEGNoise, PoissonGaussianNoise, image_seed,
                                       make_generators)
from mmsemdenoise.registry import MODELS

DEVICES = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])


def smooth_images(num: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Natural-ish images in [0, 1]: gradients plus mild texture, shape (num, 3, size, size)."""
    gen = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, size)
    base = 0.2 + 0.6 * (ramp[None, :] * ramp[:, None])
    texture = 0.1 * torch.rand(num, 3, size, size, generator=gen)
    return (base + texture).clamp(0, 1)


def all_models():
    return [
        GaussianNoise(sigma=25),
        GaussianNoise(sigma=(0, 55)),
        PoissonGaussianNoise(a=(0.001, 0.02)),
        JPEGNoise(quality=(10, 40))
    ]


def test_image_seed_is_stable_and_distinct():
    # Hard-coded values: the seed must not change between processes, runs or versions.
    assert image_seed('0001.png', 0) == 1594934535
    assert image_seed('img_17.jpg', 2018) == 1870957199
    assert image_seed('0001.png', 0) != image_seed('0002.png', 0)
    assert image_seed('0001.png', 0) != image_seed('0001.png', 1)
    assert image_seed(5, 0) == image_seed('5', 0)
    with pytest.raises(TypeError):
        image_seed(1.5, 0)


def test_one_seed_per_image_required():
    with pytest.raises(ValueError, match='one seed per image'):
        make_generators([1, 2], 3, 'cpu')
    with pytest.raises(ValueError, match='one seed per image'):
        GaussianNoise(25)(torch.rand(3, 3, 8, 8), seeds=[1])


@pytest.mark.parametrize('model', all_models(), ids=repr)
def test_seeded_noise_independent_of_batch(model):
    images = smooth_images(3)
    seeds = [image_seed(f'{i:04d}.png', 7) for i in range(3)]
    noisy_ab, level_ab = model(images[:2], seeds=seeds[:2])
    noisy_cba, level_cba = model(images.flip(0), seeds=seeds[::-1])
    noisy_b, level_b = model(images[1:2], seeds=seeds[1:2])
    torch.testing.assert_close(noisy_ab[0], noisy_cba[2], rtol=0, atol=0)
    torch.testing.assert_close(noisy_ab[1], noisy_cba[1], rtol=0, atol=0)
    torch.testing.assert_close(noisy_ab[1], noisy_b[0], rtol=0, atol=0)
    torch.testing.assert_close(level_ab[0], level_cba[2], rtol=0, atol=0)
    torch.testing.assert_close(level_ab[1], level_b[0], rtol=0, atol=0)
    # Another seed gives other noise.
    other, _ = model(images[:1], seeds=[seeds[0] + 1])
    assert not torch.equal(other[0], noisy_ab[0]) or isinstance(model, JPEGNoise)


@pytest.mark.parametrize('model', all_models()[:3], ids=repr)
def test_global_rng_when_unseeded(model):
    images = smooth_images(2)
    torch.manual_seed(3)
    first, _ = model(images)
    torch.manual_seed(3)
    second, _ = model(images)
    third, _ = model(images)
    assert torch.equal(first, second)
    assert not torch.equal(first, third)


def test_gaussian_sigma_statistics():
    clean = torch.full((1, 3, 256, 256), 0.5)
    noisy, level = GaussianNoise(sigma=25)(clean, seeds=[11])
    residual = noisy - clean
    assert level.tolist() == pytest.approx([25 / 255])
    # 196608 samples: the std of the sample std is ~0.16 %; 2 % cannot fail by chance.
    assert residual.std().item() == pytest.approx(25 / 255, rel=0.02)
    assert abs(residual.mean().item()) < 1e-3


def test_gaussian_clipping_option():
    clean = torch.full((1, 3, 64, 64), 0.95)
    unclipped, _ = GaussianNoise(sigma=50)(clean, seeds=[0])
    clipped, _ = GaussianNoise(sigma=50, clip=True)(clean, seeds=[0])
    assert unclipped.max() > 1  # the paper's protocol keeps values outside [0, 1]
    assert clipped.min() >= 0 and clipped.max() <= 1
    torch.testing.assert_close(clipped, unclipped.clamp(0, 1))


def test_gaussian_blind_range():
    clean = torch.full((64, 3, 32, 32), 0.5)
    noisy, level = GaussianNoise(sigma=(5, 15))(clean, seeds=list(range(64)))
    assert level.min() >= 5 / 255 and level.max() <= 15 / 255
    assert level.max() - level.min() > 5 / 255  # really drawn per image
    measured = (noisy - clean).std(dim=(1, 2, 3))
    torch.testing.assert_close(measured, level, rtol=0.1, atol=0)


def test_poisson_gaussian_is_signal_dependent():
    a, b = 0.02, 1e-4
    clean = torch.cat([torch.full((1, 3, 128, 64), 0.1), torch.full((1, 3, 128, 64), 0.9)], dim=3)
    noisy, level = PoissonGaussianNoise(a=a, b=b)(clean, seeds=[5])
    residual = noisy - clean
    dark, bright = residual[..., :64].std().item(), residual[..., 64:].std().item()
    assert dark == pytest.approx((a * 0.1 + b)**0.5, rel=0.03)
    assert bright == pytest.approx((a * 0.9 + b)**0.5, rel=0.03)
    assert level.item() == pytest.approx((a * 0.5 + b)**0.5, rel=1e-5)
    assert residual.pow(2).mean().sqrt().item() == pytest.approx(level.item(), rel=0.03)


def test_jpeg_changes_image_deterministically():
    clean = smooth_images(2, size=48)
    noisy, level = JPEGNoise(quality=10)(clean)
    again, _ = JPEGNoise(quality=10)(clean)
    assert torch.equal(noisy, again)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert (level > 1 / 255).all()
    torch.testing.assert_close(level, (noisy - clean).pow(2).mean(dim=(1, 2, 3)).sqrt())
    _, level_high = JPEGNoise(quality=95)(clean)
    assert (level_high < level).all()


def test_jpeg_quality_range_and_validation():
    model = JPEGNoise(quality=(20, 30))
    qualities = model.draw_quality(50, seeds=list(range(50)))
    assert min(qualities) >= 20 and max(qualities) <= 30 and len(set(qualities)) > 3
    assert qualities == model.draw_quality(50, seeds=list(range(50)))
    for bad in (0, 101, (30, 20), (10.5, 20)):
        with pytest.raises(ValueError):
            JPEGNoise(quality=bad)


@pytest.mark.parametrize('bad', [-1, (10, 5), (1, 2, 3), 'x'])
def test_gaussian_rejects_bad_sigma(bad):
    with pytest.raises(ValueError):
        GaussianNoise(sigma=bad)


@pytest.mark.parametrize('device', DEVICES)
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize('model', all_models(), ids=repr)
def test_device_and_dtype_preserved(model, dtype, device):
    clean = smooth_images(2, size=16).to(device, dtype)
    noisy, level = model(clean, seeds=[1, 2])
    assert noisy.dtype == dtype and noisy.device == clean.device and noisy.shape == clean.shape
    assert level.dtype == dtype and level.device == clean.device and level.shape == (2, )
    assert torch.isfinite(noisy).all()


def test_half_precision_sees_float32_noise():
    clean = smooth_images(1, size=16)
    noisy32, _ = GaussianNoise(25)(clean, seeds=[4])
    noisy16, _ = GaussianNoise(25)(clean.half(), seeds=[4])
    torch.testing.assert_close(noisy16.float(), noisy32, atol=2e-3, rtol=0)


def test_docstring_examples():
    from mmsemdenoise.models.noise import functional, noise_models
    for module in (functional, noise_models):
        result = doctest.testmod(module)
        assert result.attempted >= 1 and result.failed == 0, module.__name__


def test_built_from_registry():
    model = MODELS.build(dict(type='GaussianNoise', sigma=[0, 55]))
    assert isinstance(model, GaussianNoise) and model.sigma_range == (0.0, 55.0)
    assert isinstance(MODELS.build(dict(type='PoissonGaussianNoise')), PoissonGaussianNoise)
    assert isinstance(MODELS.build(dict(type='JPEGNoise', quality=20)), JPEGNoise)


def test_rejects_non_image_input():
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        GaussianNoise(25)(torch.rand(3, 8, 8))
