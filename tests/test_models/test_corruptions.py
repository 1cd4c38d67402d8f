"""The noise corruptions against ``imagecorruptions`` 1.1.2 itself, and the mixed-noise model.

Two kinds of comparison, on uint8 HWC images as the package takes them (ours get the same
pixels as ``uint8 / 255`` float32 NCHW, as :class:`PixelPreprocessor` delivers them):

* exact, where the random streams can be matched: the package draws ``gaussian_noise``,
  ``speckle_noise`` and ``shot_noise`` from numpy's global legacy generator, so after the same
  ``np.random.seed`` the test draws the very same numbers and hands them to our functions; the
  result, ``round(255 * ours)``, must equal ``corrupt(...)``'s uint8 output value for value.
  ``impulse_noise`` calls ``skimage.util.random_noise(mode='s&p')``, which draws from a fresh
  unseedable ``default_rng()``: there the masks are drawn from a seeded ``default_rng`` the way
  skimage draws them and compared exactly with ``random_noise(..., rng=seed)``.
* in distribution, for our seeded torch draws against the package's numpy ones: per grey level
  of a banded image (6912 values each) the Kolmogorov-Smirnov distance between the two output
  distributions is below 0.04 (the 0.1 % critical value for two samples of 6912 is 0.033;
  seeds are fixed so the test is deterministic) and the means agree within 4 standard errors;
  for impulse noise the replaced fraction equals the amount within 4 binomial standard errors.
  The same statistics between neighbouring severities are far off, so a wrong constant fails.
"""
import warnings

import numpy as np
import pytest
import torch

from mmsemdenoise.models.noise import (NOISE_CORRUPTIONS, CorruptionNoise, GaussianNoise,
                                       MixedNoise, image_seed)
from mmsemdenoise.models.noise.corruptions import (gaussian_noise, impulse_noise, shot_noise,
                                                   speckle_noise, to_8bit_grid, truncate_to_8bit)
from mmsemdenoise.registry import MODELS

with warnings.catch_warnings():  # it imports pkg_resources
    warnings.simplefilter('ignore')
    imagecorruptions = pytest.importorskip(
        'imagecorruptions', reason='imagecorruptions (the tests extra) is not installed')

LEVELS = (0, 3, 40, 128, 200, 252, 255)
KS_BOUND = 0.04


def ramp_image(size: int = 64) -> np.ndarray:
    """(size, size, 3) uint8 holding every value 0..255 (clipping at both ends included)."""
    values = np.arange(size * size * 3) % 256
    return values.reshape(size, size, 3).astype(np.uint8)


def banded_image(levels=LEVELS, rows: int = 32, width: int = 72) -> np.ndarray:
    """One horizontal band of constant grey per level: (rows * len(levels), width, 3) uint8."""
    return np.repeat(np.asarray(levels, np.uint8), rows)[:, None, None].repeat(
        width, 1).repeat(3, 2)


def to_tensor(img: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    """uint8 (H, W, 3) -> (1, 3, H, W) in [0, 1], as the cascade's preprocessor gives it."""
    return torch.from_numpy(img).permute(2, 0, 1)[None].to(dtype) / 255


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) on the 8-bit grid -> uint8 (H, W, 3)."""
    return (x[0].double() * 255).round().permute(1, 2, 0).numpy().astype(np.uint8)


def hwc_to_nchw(draws: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(draws)).permute(2, 0, 1)[None].double()


def package(img: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    np.random.seed(seed)
    return imagecorruptions.corrupt(img, severity=severity, corruption_name=name)


@pytest.mark.parametrize('severity', [1, 2, 3, 4, 5])
@pytest.mark.parametrize('name', ['gaussian_noise', 'speckle_noise', 'shot_noise'])
def test_exactly_the_package_given_its_random_draws(name, severity):
    img = ramp_image()
    seed = 100 + severity
    expected = package(img, name, severity, seed)
    x = to_8bit_grid(to_tensor(img))
    c = torch.tensor([NOISE_CORRUPTIONS[name][severity - 1]], dtype=torch.float64)
    np.random.seed(seed)  # the same calls the package makes, on the same state
    if name == 'shot_noise':
        counts = hwc_to_nchw(np.random.poisson((img / 255.) * int(c)).astype(np.float64))
        ours = shot_noise(counts, c)
    else:
        normal = hwc_to_nchw(np.random.normal(size=img.shape))
        ours = (gaussian_noise if name == 'gaussian_noise' else speckle_noise)(x, c, normal)
    got = to_uint8(truncate_to_8bit(ours))
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert (expected != img).mean() > 0.3  # the corruption did something


@pytest.mark.parametrize('severity', [1, 3, 5])
def test_impulse_masks_drawn_as_skimage_draws_them(severity):
    from skimage.util import random_noise
    img = ramp_image()
    amount = NOISE_CORRUPTIONS['impulse_noise'][severity - 1]
    x01 = img / 255.
    reference = np.uint8(np.clip(random_noise(x01, mode='s&p', amount=amount, rng=7), 0, 1) * 255)
    rng = np.random.default_rng(7)
    hit = hwc_to_nchw(rng.random(img.shape) <= amount).bool()
    salt = hwc_to_nchw(rng.random(img.shape) <= 0.5).bool()
    got = to_uint8(truncate_to_8bit(impulse_noise(to_8bit_grid(to_tensor(img)), hit, salt)))
    np.testing.assert_array_equal(got, reference)


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest gap between the empirical CDFs of two uint8 samples."""
    cdf_a = np.cumsum(np.bincount(a.ravel(), minlength=256)) / a.size
    cdf_b = np.cumsum(np.bincount(b.ravel(), minlength=256)) / b.size
    return float(np.abs(cdf_a - cdf_b).max())


def ours(img: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    noisy, _ = CorruptionNoise(name, severity)(to_tensor(img), seeds=[seed])
    return to_uint8(noisy)


@pytest.mark.parametrize('severity', [1, 2, 3, 4, 5])
@pytest.mark.parametrize('name', list(NOISE_CORRUPTIONS))
def test_same_distribution_as_the_package(name, severity):
    img = banded_image()
    mine, theirs = ours(img, name, severity, seed=1), package(img, name, severity, seed=2)
    rows = img.shape[0] // len(LEVELS)
    for i, level in enumerate(LEVELS):
        a, b = mine[i * rows:(i + 1) * rows], theirs[i * rows:(i + 1) * rows]
        assert ks_distance(a, b) < KS_BOUND, (level, ks_distance(a, b))
        spread = max(a.astype(float).std(), b.astype(float).std(), 0.5)
        assert abs(a.mean() - b.mean()) < 4 * spread * np.sqrt(2 / a.size), level
    if name == 'impulse_noise':  # the replaced fraction, on the grey levels strictly inside
        amount = NOISE_CORRUPTIONS[name][severity - 1]
        for sample in (mine, theirs):
            hit = impulse_fraction(sample, img)
            assert abs(hit - amount) < 4 * np.sqrt(amount * (1 - amount) / img.size), hit


def impulse_fraction(noisy: np.ndarray, clean: np.ndarray) -> float:
    """Fraction of the values of grey levels in 1..254 that became black or white."""
    inside = (clean > 0) & (clean < 255)
    return float(((noisy == 0) | (noisy == 255))[inside].mean())


@pytest.mark.parametrize('name', list(NOISE_CORRUPTIONS))
def test_the_comparison_tells_severities_apart(name):
    img = banded_image()
    rows = img.shape[0] // len(LEVELS)
    for severity in (1, 2, 3, 4):
        mine = ours(img, name, severity, seed=1)
        theirs = package(img, name, severity + 1, seed=2)
        if name == 'impulse_noise':  # neighbouring amounts differ by 0.03 to 0.1
            gap = impulse_fraction(theirs, img) - impulse_fraction(mine, img)
            assert gap > 0.02, (severity, gap)
            continue
        gaps = [ks_distance(mine[i * rows:(i + 1) * rows], theirs[i * rows:(i + 1) * rows])
                for i in range(len(LEVELS))]
        assert max(gaps) > 1.5 * KS_BOUND, (severity, gaps)


def test_output_is_on_the_8bit_grid_and_reproducible():
    clean = torch.rand(3, 3, 40, 40, generator=torch.Generator().manual_seed(0))
    seeds = [image_seed(f'{i}.png', 0) for i in range(3)]
    for name in NOISE_CORRUPTIONS:
        noise = CorruptionNoise(name, severity=(1, 5))
        noisy, level = noise(clean, seeds)
        assert noisy.dtype == clean.dtype and noisy.shape == clean.shape
        assert 0 <= float(noisy.min()) and float(noisy.max()) <= 1
        grid = noisy.double() * 255
        assert torch.allclose(grid, grid.round(), atol=1e-3)
        rms = (noisy.double() - clean.double()).pow(2).mean(dim=(1, 2, 3)).sqrt()
        torch.testing.assert_close(level.double(), rms, rtol=1e-5, atol=1e-6)
        # batch-independent: image 1 alone gets the same noisy image
        alone, alone_level = noise(clean[1:2], seeds[1:2])
        assert torch.equal(alone[0], noisy[1]) and torch.equal(alone_level[0], level[1])
        assert not torch.equal(noise(clean, seeds)[0], noise(clean, [s + 1 for s in seeds])[0])
    continuous, _ = CorruptionNoise('gaussian_noise', 3, quantize=False)(clean, seeds)
    assert not torch.allclose(continuous * 255, (continuous * 255).round(), atol=1e-3)


def test_severity_range_draws_each_severity():
    noise = CorruptionNoise('gaussian_noise', severity=(2, 4))
    gens = [torch.Generator().manual_seed(s) for s in range(300)]
    drawn = noise.draw_severity(300, gens)
    assert set(drawn.tolist()) == {2, 3, 4}


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown corruption 'fog'"):
        CorruptionNoise('fog')
    with pytest.raises(ValueError, match='severity must lie in 1..5'):
        CorruptionNoise('shot_noise', severity=6)
    with pytest.raises(ValueError, match='severity must be an int'):
        CorruptionNoise('shot_noise', severity=2.5)
    with pytest.raises(ValueError, match='weights must be 2 values'):
        MixedNoise([GaussianNoise(10), GaussianNoise(20)], weights=[1])
    with pytest.raises(ValueError, match='non-empty list'):
        MixedNoise([])


def test_mixed_noise_draws_one_model_per_image_reproducibly():
    mixed = MODELS.build(dict(type='MixedNoise', noises=[
        dict(type='CorruptionNoise', corruption=c, severity=(1, 5)) for c in NOISE_CORRUPTIONS]))
    assert len(mixed.noises) == 4 and mixed.probs == [0.25] * 4
    clean = torch.full((64, 3, 32, 32), 128 / 255)
    seeds = list(range(64))
    noisy, level = mixed(clean, seeds)
    choice, sub_seeds = mixed.draw_choice(64, [torch.Generator().manual_seed(s) for s in seeds])
    assert set(choice.tolist()) == {0, 1, 2, 3}  # all four families appear among 64 images
    for i in (0, 17, 63):  # each image is exactly its drawn model at its drawn seed
        expected, expected_level = mixed.noises[int(choice[i])](clean[i:i + 1], [sub_seeds[i]])
        assert torch.equal(noisy[i], expected[0]) and torch.equal(level[i], expected_level[0])
    alone, _ = mixed(clean[17:18], seeds[17:18])
    assert torch.equal(alone[0], noisy[17])
    # impulse images hold only black, the clean grey and white
    impulse = [i for i in range(64) if int(choice[i]) == 2]
    assert set(torch.unique(noisy[impulse] * 255).round().tolist()) <= {0.0, 128.0, 255.0}
    # unseeded (training): runs on the global generator and differs between calls
    torch.manual_seed(0)
    first, _ = mixed(clean[:8])
    second, _ = mixed(clean[:8])
    assert first.shape == clean[:8].shape and not torch.equal(first, second)


def test_mixed_noise_weights_are_respected():
    mixed = MixedNoise([GaussianNoise(0), GaussianNoise(50)], weights=[3, 1])
    choice, _ = mixed.draw_choice(4000, [torch.Generator().manual_seed(s) for s in range(4000)])
    assert abs(float((choice == 0).float().mean()) - 0.75) < 0.03
    built = MixedNoise.noise_corruptions(['shot_noise'], severities=(5, 5))
    assert built.noises[0].severity_range == (5, 5)
