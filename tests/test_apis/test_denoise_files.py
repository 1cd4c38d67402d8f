"""Denoising photo files: depth, grey, alpha and orientation kept through the network, failures
skipped by name, outputs never clobbered, tiles blended like the whole image."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from mmsemdenoise.apis import (denoise_array, denoise_files, list_images, load_denoiser,
                               read_photo)
from mmsemdenoise.models.denoisers import DnCNN, FFDNet

REPO = Path(__file__).resolve().parents[2]
SHIPPED = 'mmsemdenoise://three-scale_blind_bsd400'
PHOTO = REPO / 'mmsemdenoise/demo_data/val/skimage_coffee.jpg'
RNG = np.random.default_rng(0)


@pytest.fixture(scope='module')
def net() -> DnCNN:
    torch.manual_seed(0)
    return DnCNN(num_layers=3).eval()


def _run(net, pixels, **kw):
    """The network on (H, W, C) float pixels in [0, 1] -> same, unclamped."""
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        return net(x, **kw)[0].permute(1, 2, 0).numpy()


def test_depth_and_channels_follow_the_image(net):
    grey = RNG.integers(0, 256, (20, 24), dtype=np.uint8)
    out = denoise_array(net, grey)
    assert out.shape == grey.shape and out.dtype == np.uint8
    # grey through a colour network: copies shifted by (0, 0), (0, 1), (1, 0), edges repeated;
    # the mean of the 3 outputs shifted back
    g = np.pad(grey / 255.0, 1, mode='edge')
    y = _run(net, np.dstack([g[1:-1, 1:-1], g[1:-1, :-2], g[:-2, 1:-1]]))
    y = np.pad(y, ((1, 1), (1, 1), (0, 0)), mode='edge')
    expected = (y[1:-1, 1:-1, 0] + y[1:-1, 2:, 1] + y[2:, 1:-1, 2]) / 3
    assert np.abs(out - (np.clip(expected, 0, 1) * 255)).max() <= 0.5 + 1e-3
    # 16 bit keeps 16-bit precision (not 8-bit values times 257)
    deep = RNG.integers(0, 65536, (20, 24, 3), dtype=np.uint16)
    out16 = denoise_array(net, deep)
    assert out16.dtype == np.uint16 and out16.shape == deep.shape
    expected = np.clip(_run(net, deep / 65535.0), 0, 1) * 65535
    assert np.abs(out16 - expected).max() <= 0.51 and (out16 % 257 != 0).mean() > 0.9
    # colour through a one-channel network: channel by channel
    torch.manual_seed(1)
    grey_net = DnCNN(in_channels=1, num_layers=3).eval()
    rgb = RNG.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    out = denoise_array(grey_net, rgb)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], denoise_array(grey_net, rgb[..., c].copy()))
    for size in ((1, 1), (5, 9)):  # padded for the network, cropped back
        tiny = denoise_array(load_denoiser(SHIPPED), rgb[:size[0], :size[1]].copy())
        assert tiny.shape == (*size, 3)
    with pytest.raises(ValueError, match='uint8 or uint16'):
        denoise_array(net, rgb.astype(np.float32))
    with pytest.raises(ValueError, match='takes 3-channel images, the image has 2'):
        denoise_array(net, rgb[..., :2].copy())


def test_tiled_equals_untiled_on_a_photo_with_the_shipped_denoiser():
    denoiser = load_denoiser(SHIPPED)
    clean = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)[:160, :200]
    noisy = np.clip(clean + RNG.normal(0, 25, clean.shape), 0, 255).round().astype(np.uint8)
    whole = denoise_array(denoiser, noisy).astype(int)
    tiled = denoise_array(denoiser, noisy, tile=96, overlap=48).astype(int)  # 3 x 3 tiles
    diff = np.abs(tiled - whole)  # measured: 1 grey level at 0.07 % of the pixels
    assert diff.max() <= 1 and (diff > 0).mean() < 0.005, (diff.max(), (diff > 0).mean())
    butted = denoise_array(denoiser, noisy, tile=96, overlap=0).astype(int)
    assert np.abs(butted - whole).max() > 8  # tiles without overlap do show (measured: 24)
    psnr = 10 * np.log10(255**2 / ((tiled - clean.astype(int))**2).mean())
    assert psnr > 28  # a trained network (noisy input: ~20.2 dB)


def test_grey_photo_through_the_colour_denoiser():
    denoiser = load_denoiser(SHIPPED)
    clean = cv2.imread(str(PHOTO), cv2.IMREAD_GRAYSCALE)[:128, :160].astype(float)
    noisy = np.clip(clean + RNG.normal(0, 25, clean.shape), 0, 255).round().astype(np.uint8)
    out = denoise_array(denoiser, noisy)
    assert out.shape == clean.shape
    gain = 10 * np.log10(((noisy - clean)**2).mean() / ((out - clean)**2).mean())
    assert gain > 5, gain  # identical copies in the 3 channels gain < 1 dB


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / 'in'
    src.mkdir()
    cv2.imwrite(str(src / 'deep.png'), RNG.integers(0, 65536, (24, 30, 3), dtype=np.uint16))
    cv2.imwrite(str(src / 'deep.tif'), RNG.integers(0, 65536, (24, 30), dtype=np.uint16))
    cv2.imwrite(str(src / 'grey.png'), RNG.integers(0, 256, (24, 30), dtype=np.uint8))
    cv2.imwrite(str(src / 'rgba.png'), RNG.integers(0, 256, (24, 30, 4), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(RNG.integers(0, 256, (24, 30, 3), dtype=np.uint8)).save(src / 'turned.jpg',
                                                                            exif=exif)
    Image.fromarray(RNG.integers(0, 256, (24, 30, 3), dtype=np.uint8)).save(src / 'turned.png')
    (src / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 50)
    return src


def test_a_folder_of_mixed_photos(tmp_path, net):
    src = _folder(tmp_path)
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    out = tmp_path / 'out'
    messages = []
    report = denoise_files(net, list_images(src), out, log=messages.append, progress=False)
    assert sorted(p.name for p in report.written) == ['deep.png', 'deep.tif', 'grey.png',
                                                       'rgba.png', 'turned.jpg']
    assert sorted(p.name for p in report.failed) == ['broken.png', 'turned.png']
    assert 'cannot decode' in report.failed[src / 'broken.png']
    assert 'also that of' in report.failed[src / 'turned.png']  # turned.jpg -> turned.png
    assert all(any(str(p) in m for m in messages) for p in report.failed)
    assert sorted(p.name for p in out.iterdir()) == ['deep.png', 'deep.tif', 'grey.png',
                                                     'rgba.png', 'turned.png']  # no temporaries
    for name, (shape, dtype) in {'deep.png': ((24, 30, 3), np.uint16),
                                 'deep.tif': ((24, 30), np.uint16),
                                 'grey.png': ((24, 30), np.uint8),
                                 'turned.png': ((30, 24, 3), np.uint8)}.items():  # upright
        written = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert written.shape == shape and written.dtype == dtype, name
    rgba_in, rgba_out = (cv2.imread(str(d / 'rgba.png'), cv2.IMREAD_UNCHANGED) for d in (src, out))
    np.testing.assert_array_equal(rgba_out[..., 3], rgba_in[..., 3])     # alpha untouched
    assert not np.array_equal(rgba_out[..., :3], rgba_in[..., :3])       # colour denoised
    np.testing.assert_array_equal(read_photo(out / 'grey.png').pixels,
                                  denoise_array(net, read_photo(src / 'grey.png').pixels))
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before   # inputs untouched

    stamp = (out / 'grey.png').stat().st_mtime_ns
    again = denoise_files(net, list_images(src), out, log=messages.append, progress=False)
    assert len(again.kept) == 5 and not again.written
    assert (out / 'grey.png').stat().st_mtime_ns == stamp
    forced = denoise_files(net, [src / 'grey.png'], out, force=True, progress=False)
    assert forced.written == [src / 'grey.png']
    with pytest.raises(ValueError, match='holds the inputs'):
        denoise_files(net, list_images(src), src, progress=False)


def test_noise_level_is_required_by_ffdnet_and_noisy_copies_are_seeded(tmp_path):
    torch.manual_seed(0)
    ffdnet = FFDNet(channels=8, num_layers=3).eval()
    src = tmp_path / 'in'
    src.mkdir()
    cv2.imwrite(str(src / 'a.png'), RNG.integers(0, 256, (15, 21, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match='non-blind.*--noise-level'):
        denoise_files(ffdnet, [src / 'a.png'], tmp_path / 'out', progress=False)
    report = denoise_files(ffdnet, [src / 'a.png'], tmp_path / 'out', add_noise_sigma=25,
                           progress=False)
    assert report.written == [src / 'a.png']
    noisy = cv2.imread(str(tmp_path / 'out/a_noisy.png'))
    (tmp_path / 'out/a.png').unlink()  # a rerun writes the missing output only
    denoise_files(ffdnet, [src / 'a.png'], tmp_path / 'out', add_noise_sigma=25, progress=False)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / 'out/a_noisy.png')), noisy)
    assert cv2.imread(str(tmp_path / 'out/a.png')).shape == (15, 21, 3)


def test_added_noise_is_the_sweeps_noise(tmp_path):
    """``--add-noise 25`` writes the noisy pixels the sweep's cascade makes of the same file at
    sigma 25 (GaussianNoise, seeded by the file name), rounded to 8 bits."""
    from mmengine.structures import BaseDataElement

    from mmsemdenoise.models.cascade import DenoisingCascade
    src = tmp_path / 'in'
    src.mkdir()
    bgr = RNG.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    cv2.imwrite(str(src / 'street.png'), bgr)
    denoise_files(DnCNN(num_layers=3).eval(), [src / 'street.png'], tmp_path / 'out',
                  add_noise_sigma=25, progress=False)
    written = cv2.imread(str(tmp_path / 'out/street_noisy.png'))[..., ::-1]  # RGB
    # the sweep: the pipeline's BGR pixels -> PixelPreprocessor -> the cascade's seeded test
    # noise, with the data sample's img_path as the loaders give it (no img_id)
    cascade = DenoisingCascade(test_noise=dict(type='GaussianNoise', sigma=25),
                               data_preprocessor=dict(type='PixelPreprocessor', bgr_to_rgb=True))
    sample = BaseDataElement(metainfo=dict(img_path=str(tmp_path / 'elsewhere/street.png')))
    batch = cascade.data_preprocessor(
        dict(inputs=[torch.from_numpy(bgr).permute(2, 0, 1)], data_samples=[sample]))
    with torch.no_grad():
        result = cascade(**batch, mode='predict')[0]
    swept = result.noisy_img.clamp(0, 255).round().permute(1, 2, 0).numpy().astype(np.uint8)
    np.testing.assert_array_equal(written, swept)
    assert np.abs(written.astype(int) - bgr[..., ::-1]).mean() > 10  # noise was added
