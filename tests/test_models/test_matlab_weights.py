"""The official MatConvNet DnCNN/FFDNet weights: exact layout and published denoising quality.

Needs ``../shared/data/weights/*.mat`` and ``../shared/data/denoise/CBSD68`` (skipped if absent).
Images are cropped to 96 x 96 to keep the file fast on CPU.
"""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mmsemdenoise.models.converters import build_from_matlab, load_matlab_state_dict
from mmsemdenoise.models.denoisers import DnCNN
from mmsemdenoise.models.converters.matlab_weights import (MatLayer, conv_weight_to_torch,
                                                           dncnn_state_dict, ffdnet_state_dict,
                                                           read_matconvnet_layers)

CROP = 96


@pytest.fixture(scope='module')
def clean_crop(shared_data) -> torch.Tensor:
    """A 96 x 96 crop of the first CBSD68 image: (1, 3, 96, 96) RGB in [0, 1]."""
    cv2 = pytest.importorskip('cv2')
    path = sorted(shared_data('denoise/CBSD68').glob('*.png'))[0]
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    top, left = (bgr.shape[0] - CROP) // 2, (bgr.shape[1] - CROP) // 2
    rgb = bgr[top:top + CROP, left:left + CROP, ::-1]
    return torch.from_numpy(rgb.astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()


def _noisy(clean: torch.Tensor, sigma: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return clean + sigma / 255 * torch.randn(clean.shape, generator=generator)


def _psnr_uint8(clean: torch.Tensor, image: torch.Tensor) -> float:
    """PSNR over all values after rounding both images to uint8."""
    a, b = ((t * 255).round().clamp(0, 255).double() for t in (clean, image))
    return float(10 * torch.log10(255**2 / (a - b).square().mean()))


def _denoised_psnr(model: torch.nn.Module, clean: torch.Tensor, sigma: float,
                   with_level: bool = False) -> tuple:
    noisy = _noisy(clean, sigma)
    level = torch.tensor([sigma / 255]) if with_level else None
    with torch.no_grad():
        out = model.eval()(noisy, level)
    return _psnr_uint8(clean, noisy), _psnr_uint8(clean, out)


def test_hdf5_reverses_matlab_dimensions(shared_data):
    # FFDNet's first kernel is 3x3x13x96 in MATLAB: HDF5 lists the dimensions reversed.
    layers = read_matconvnet_layers(str(shared_data('weights/FFDNet_color.mat')))
    assert [layer.type for layer in layers[:3]] == ['SubP', 'concat', 'conv']
    assert layers[2].weights[0].shape == (96, 13, 3, 3)
    kernel = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # (out, in, kW, kH)
    assert conv_weight_to_torch(kernel)[1, 2, 4, 3] == kernel[1, 2, 3, 4]
    assert conv_weight_to_torch(kernel[0]).shape == (1, 3, 5, 4)  # MATLAB drops C_out = 1


def test_cdncnn_sigma25_denoises(shared_data, clean_crop):
    model = build_from_matlab(str(shared_data('weights/CDnCNN_color_sigma25.mat')), 'dncnn')
    assert isinstance(model, DnCNN) and len(model.layers) == 20
    noisy_psnr, psnr = _denoised_psnr(model, clean_crop, 25)
    assert psnr > noisy_psnr + 8


def _transpose_kernels(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for layer in model.layers:
            layer.conv.weight.copy_(layer.conv.weight.transpose(2, 3).clone())


def _swap_subpixel_order(model: torch.nn.Module) -> None:
    """Undo the converter's reordering of the 2x2 sub-image channels (row/column offsets)."""
    swap = torch.tensor([0, 2, 1, 3]).repeat(3) + torch.arange(3).repeat_interleave(4) * 4
    first, last = model.layers[0].conv, model.layers[-1].conv
    with torch.no_grad():
        first.weight[:, :12] = first.weight[:, swap].clone()
        last.weight.copy_(last.weight[swap].clone())
        last.bias.copy_(last.bias[swap].clone())


def test_ffdnet_denoises_with_noise_map(shared_data, clean_crop):
    model = build_from_matlab(str(shared_data('weights/FFDNet_color.mat')), 'ffdnet')
    noisy_psnr, psnr = _denoised_psnr(model, clean_crop, 25, with_level=True)
    assert psnr > noisy_psnr + 8


@pytest.fixture(scope='module')
def ffdnet_psnr(shared_data, clean_crop) -> float:
    path = str(shared_data('weights/FFDNet_color.mat'))
    return _denoised_psnr(build_from_matlab(path), clean_crop, 25, with_level=True)[1]


@pytest.mark.parametrize('wrong', [_transpose_kernels, _swap_subpixel_order])
def test_axis_order_is_proven_by_ffdnet(ffdnet_psnr, wrong, shared_data, clean_crop):
    # vl_nnSubP fixes which image axis is the row (MATLAB's first); kernels read with the other
    # spatial order, or sub-images in the other order, lose > 1 dB (about 1.4 dB here). DnCNN
    # alone cannot tell: transposing every kernel is the same network on the transposed image.
    model = build_from_matlab(str(shared_data('weights/FFDNet_color.mat')))
    wrong(model)
    _, wrong_psnr = _denoised_psnr(model, clean_crop, 25, with_level=True)
    assert ffdnet_psnr > wrong_psnr + 1


def test_state_dict_and_config(shared_data):
    state_dict, cfg = load_matlab_state_dict(str(shared_data('weights/CDnCNN_B_color_blind.mat')))
    assert cfg == dict(type='DnCNN', in_channels=3, channels=64, num_layers=20, bn=False)
    assert set(state_dict) == set(DnCNN(num_layers=20, bn=False).state_dict())
    state_dict, cfg = load_matlab_state_dict(str(shared_data('weights/FFDNet_color.mat')))
    assert cfg == dict(type='FFDNet', in_channels=3, channels=96, num_layers=12, bn=False)


def test_errors(tmp_path: Path, shared_data):
    dncnn = str(shared_data('weights/CDnCNN_color_sigma15.mat'))
    with pytest.raises(ValueError, match="are arch='dncnn'"):
        load_matlab_state_dict(dncnn, 'ffdnet')
    with pytest.raises(ValueError, match='arch must be one of'):
        load_matlab_state_dict(dncnn, 'unet')
    with pytest.raises(FileNotFoundError, match='not found'):
        load_matlab_state_dict(str(tmp_path / 'missing.mat'))
    text = tmp_path / 'weights.mat'
    text.write_text('MATLAB 5.0 MAT-file')
    with pytest.raises(ValueError, match='not a MATLAB v7.3'):
        load_matlab_state_dict(str(text))
    h5py = pytest.importorskip('h5py')
    other = tmp_path / 'other.mat'
    with h5py.File(other, 'w') as f:
        f['model'] = np.zeros(3)
    with pytest.raises(ValueError, match='no net.layers'):
        load_matlab_state_dict(str(other))


def _conv(index: int, c_in: int, c_out: int) -> MatLayer:
    kernel = np.zeros((c_out, c_in, 3, 3), np.float32)
    return MatLayer(index, 'conv', f'conv{index}', {'stride': (1., ), 'pad': (1., )},
                    (kernel, np.zeros((1, c_out), np.float32)))


def test_layout_errors():
    relu = MatLayer(1, 'relu', 'relu1', {'leak': (0., )}, ())
    good = [_conv(0, 3, 8), relu, _conv(2, 8, 3)]
    state_dict, cfg = dncnn_state_dict(good)
    assert cfg['num_layers'] == 2 and state_dict['layers.1.conv.weight'].shape == (3, 8, 3, 3)
    with pytest.raises(ValueError, match='odd number'):
        dncnn_state_dict(good + [relu])
    with pytest.raises(ValueError, match="got 'bnorm'"):
        dncnn_state_dict([good[0], replace(relu, type='bnorm'), good[2]])
    with pytest.raises(ValueError, match='expected pad=1'):
        dncnn_state_dict([replace(good[0], params={'pad': (0., )}), relu, good[2]])
    with pytest.raises(ValueError, match='predicts noise'):
        dncnn_state_dict([good[0], relu, _conv(2, 8, 1)])
    with pytest.raises(ValueError, match='FFDNet layout'):
        ffdnet_state_dict(good)
