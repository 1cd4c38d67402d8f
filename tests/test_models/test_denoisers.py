"""Shapes, parameter count, gradients and size contracts of the denoising networks."""
import pytest
import torch
import torch.nn.functional as F

from mmsemdenoise.models.denoisers import DnCNN, FFDNet, ThreeScaleDenoiser
from mmsemdenoise.registry import MODELS

DENOISERS = ('ThreeScaleDenoiser', 'DnCNN', 'FFDNet')


def _sigma(n: int) -> torch.Tensor:
    return torch.full((n, ), 25 / 255)


@pytest.mark.parametrize('name', DENOISERS)
@pytest.mark.parametrize('size', [(37, 53), (8, 7), (64, 48)])
def test_output_has_input_shape(name, size):
    model = MODELS.build(dict(type=name)).eval()
    noisy = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = model(noisy, _sigma(2))
    assert out.shape == noisy.shape
    assert out.dtype == noisy.dtype
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('name', DENOISERS)
def test_gradient_reaches_every_parameter(name):
    torch.manual_seed(0)
    model = MODELS.build(dict(type=name)).train()
    noisy = torch.rand(2, 3, 20, 22)
    loss = F.mse_loss(model(noisy, _sigma(2)), torch.rand_like(noisy))
    loss.backward()
    for key, param in model.named_parameters():
        assert param.grad is not None, key
        assert param.grad.abs().sum() > 0, key


def test_three_scale_parameter_count():
    # Caffe definition: 1,033,443 with the 512 biases in front of BN, which we leave out.
    model = ThreeScaleDenoiser()
    assert sum(p.numel() for p in model.parameters()) == 1_032_931
    assert sum(p.numel() for p in model.conv0.parameters()) == 5 * 5 * 3 * 64 + 64
    assert model.decoders[0].fuse[0].conv.in_channels == 128 + 32
    assert model.decoders[1].fuse.conv.in_channels == 64 + 64


@pytest.mark.parametrize('num_scales', [2, 4])
def test_three_scale_is_configurable(num_scales):
    model = ThreeScaleDenoiser(base_channels=16, num_scales=num_scales).eval()
    assert len(model.encoders) == num_scales - 1
    noisy = torch.rand(1, 3, 37, 53)
    with torch.no_grad():
        assert model(noisy).shape == noisy.shape
        original = ThreeScaleDenoiser(
            base_channels=16, num_scales=num_scales, padding_mode='original')
        original.load_state_dict(model.state_dict())
        size = 4 + 2**(num_scales - 1) * 5
        assert original.eval()(torch.rand(1, 3, size, size)).shape == (1, 3, size - 6, size - 6)


def test_three_scale_original_mode_shape_contract():
    model = ThreeScaleDenoiser(padding_mode='original').eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 40, 48)).shape == (1, 3, 34, 42)
    for size in [(37, 48), (40, 53), (4, 8)]:
        with pytest.raises(ValueError, match='multiples of 4'):
            model(torch.rand(1, 3, *size))


def test_three_scale_padded_modes_run_the_original_network():
    torch.manual_seed(0)
    model = ThreeScaleDenoiser().eval()
    original = ThreeScaleDenoiser(padding_mode='original').eval()
    original.load_state_dict(model.state_dict())
    noisy = torch.rand(1, 3, 37, 53)  # padded to 44 x 60: H - 4 and W - 4 divisible by 4
    with torch.no_grad():
        expected = original(F.pad(noisy, (3, 4, 3, 4), mode='reflect'))[..., :37, :53]
        torch.testing.assert_close(model(noisy), expected)


def test_three_scale_learns_a_residual():
    model = ThreeScaleDenoiser(padding_mode='original').eval()
    last = model.decoders[-1].fuse.conv
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    noisy = torch.rand(1, 3, 44, 40)
    with torch.no_grad():
        torch.testing.assert_close(model(noisy), noisy[..., 3:-3, 3:-3])


def test_three_scale_padding_modes():
    tiny = torch.rand(1, 3, 5, 6)
    with pytest.raises(ValueError, match='H, W >= 7'):
        ThreeScaleDenoiser()(tiny)
    for mode in ('replicate', 'zeros'):
        assert ThreeScaleDenoiser(padding_mode=mode).eval()(tiny).shape == tiny.shape
    with pytest.raises(ValueError, match='padding_mode'):
        ThreeScaleDenoiser(padding_mode='same')


def test_dncnn_structure_and_residual():
    model = DnCNN()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert (len(convs), len(bns)) == (17, 15)
    assert DnCNN(num_layers=20, bn=False).layers[5].conv.bias is not None
    last = model.layers[-1].conv
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    noisy = torch.rand(1, 3, 9, 11)
    torch.testing.assert_close(model.eval()(noisy), noisy)


def test_blind_networks_ignore_noise_level():
    noisy = torch.rand(2, 3, 16, 16)
    for model in (DnCNN().eval(), ThreeScaleDenoiser().eval()):
        with torch.no_grad():
            torch.testing.assert_close(model(noisy), model(noisy, _sigma(2)))


def test_ffdnet_structure():
    model = FFDNet()
    assert model.layers[0].conv.in_channels == 4 * 3 + 1
    assert model.layers[-1].conv.out_channels == 4 * 3
    assert len(model.layers) == 12 and model.layers[5].conv.out_channels == 96


def test_ffdnet_noise_level():
    model = FFDNet().eval()
    noisy = torch.rand(2, 3, 15, 18)
    with pytest.raises(ValueError, match='non-blind'):
        model(noisy)
    with pytest.raises(ValueError, match=r'shape \(N,\)'):
        model(noisy, torch.full((3, ), 0.1))
    with torch.no_grad():
        both = model(noisy, torch.tensor([0.1, 0.1]))
        torch.testing.assert_close(model(noisy, torch.tensor(0.1)), both)
        assert not torch.allclose(model(noisy, torch.tensor([0.1, 0.3])), both)


def test_ffdnet_odd_sides_repeat_the_last_row_and_column():
    torch.manual_seed(0)
    model = FFDNet(channels=8, num_layers=3).eval()
    noisy, level = torch.rand(1, 3, 9, 13), torch.tensor([0.1])
    even = torch.cat([noisy, noisy[..., -1:, :]], dim=2)
    even = torch.cat([even, even[..., -1:]], dim=3)  # 10 x 14, as the MATLAB demo pads
    with torch.no_grad():
        torch.testing.assert_close(model(noisy, level), model(even, level)[..., :9, :13])
