"""Tiled inference and the denoise tool."""
from pathlib import Path

import numpy as np
import pytest
import torch

from mmsemdenoise.apis import (denoise_image, fuse_batch_norms, load_denoiser, resolve_config,
                               tiled_apply)
from mmsemdenoise.models.denoisers import DnCNN
from mmsemdenoise.utils import shipped_config

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs/denoise/three-scale_bsd400_sigma25.py')


def test_tiles_match_whole_image_within_receptive_field():
    torch.manual_seed(0)
    net = DnCNN(num_layers=3).eval()  # receptive-field radius 3 <= overlap / 4
    image = torch.rand(1, 3, 50, 70)
    with torch.no_grad():
        whole = net(image)
        tiled = tiled_apply(net, image, tile=24, overlap=12)
        seams = tiled_apply(net, image, tile=24, overlap=8)  # radius > overlap / 4
    assert tiled.shape == whole.shape
    assert torch.allclose(tiled, whole, atol=1e-5)
    assert not torch.allclose(seams, whole, atol=1e-3)  # the tiles do meet


def test_tile_larger_than_image_runs_once_and_bad_overlap_raises():
    image = torch.rand(1, 3, 10, 12)
    calls = []
    out = tiled_apply(lambda t: calls.append(t.shape) or t * 2, image, tile=16)
    assert calls == [image.shape] and torch.equal(out, image * 2)
    with pytest.raises(ValueError, match='overlap'):
        tiled_apply(lambda t: t, torch.rand(1, 3, 40, 40), tile=16, overlap=16)


def test_batched_tiles_equal_tiles_one_by_one_and_tiles_are_balanced():
    torch.manual_seed(0)
    net = DnCNN(num_layers=5).eval()  # radius 5 > overlap / 4: the blend itself is compared
    image = torch.rand(2, 3, 100, 75)
    shapes = []

    def fn(t):
        shapes.append(tuple(t.shape))
        return net(t)

    with torch.no_grad():
        batched = tiled_apply(fn, image, tile=40, overlap=8, batch_size=4)
        calls_batched, shapes[:] = list(shapes), []
        default = tiled_apply(fn, image, tile=40, overlap=8)  # on a CPU: one tile per call
        calls_default, shapes[:] = list(shapes), []
        single = tiled_apply(fn, image, tile=40, overlap=8, batch_size=1)
        whole = net(image)
    # fewest tiles of <= 40 px sharing >= 8 px, starts at multiples of 8: rows 0-40, 32-72,
    # 64-100; columns 0-32, 24-56, 48-75 (not 40 wide); batched by size, 2 images each
    assert sorted(set(shapes)) == [(2, 3, 36, 27), (2, 3, 36, 32), (2, 3, 40, 27),
                                   (2, 3, 40, 32)]
    assert sorted(s[0] for s in calls_batched) == [2, 4, 4, 8]  # 4, 2, 2, 1 tiles x 2 images
    assert [s[0] for s in calls_default] == [2] * 9 and torch.equal(default, single)
    assert torch.allclose(batched, single, atol=1e-6)
    assert (batched - whole).abs().max() > 1e-4  # the tiles are blended, not the whole image


def test_load_denoiser_takes_cascade_or_bare_checkpoints(tmp_path):
    den = load_denoiser(CONFIG)
    # other weights than the config's (scaled: adding 1 to every weight made the outputs inf)
    state = {f'denoiser.{k}': v * 0.9 if v.is_floating_point() else v + 1
             for k, v in den.state_dict().items()}
    state['task_model.x'] = torch.zeros(1)  # other parts of a cascade are ignored
    torch.save({'state_dict': state}, tmp_path / 'cascade.pth')
    loaded = load_denoiser(CONFIG, str(tmp_path / 'cascade.pth'))
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, state[f'denoiser.{k}']), k
    torch.save({'state_dict': {'conv0.weight': torch.zeros(1)}}, tmp_path / 'bad.pth')
    with pytest.raises(Exception, match='bad.pth'):
        load_denoiser(CONFIG, str(tmp_path / 'bad.pth'))
    rgb = np.random.default_rng(0).integers(0, 256, (33, 45, 3), dtype=np.uint8)
    out = denoise_image(loaded, rgb, tile=24, overlap=8)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    with pytest.raises(ValueError, match='uint8'):
        denoise_image(loaded, rgb.astype(np.float32))


def test_shipped_names_stand_for_config_and_weights(tmp_path):
    name = 'mmsemdenoise://three-scale_blind_bsd400'
    config = REPO / 'configs/denoise/three-scale_bsd400_blind_cpu-finetune.py'
    assert Path(shipped_config(name)).resolve() == config.resolve()  # also via a .mim link
    assert resolve_config('three-scale_blind_bsd400') == shipped_config(name)
    by_name, by_checkpoint = load_denoiser(name), load_denoiser(None, name)
    explicit = load_denoiser(shipped_config(name), name)
    untrained = load_denoiser(shipped_config(name))
    for k, v in explicit.state_dict().items():
        assert torch.equal(by_name.state_dict()[k], v), k
        assert torch.equal(by_checkpoint.state_dict()[k], v), k
    assert not torch.equal(untrained.conv0.weight, explicit.conv0.weight)
    with pytest.raises(KeyError, match='no metafile entry.*nope; entries: .*three-scale_blind'):
        load_denoiser(None, 'mmsemdenoise://nope')
    with pytest.raises(FileNotFoundError, match='checkpoint file not found: .*model.pth'):
        load_denoiser(None, str(tmp_path / 'model.pth'))
    with pytest.raises(ValueError, match='give a checkpoint'):
        load_denoiser()
    with pytest.raises(FileNotFoundError, match='config file not found: nope.py'):
        load_denoiser('nope.py')


def test_folded_batch_norms_give_the_trained_outputs():
    name = 'mmsemdenoise://three-scale_blind_bsd400'
    plain, folded = load_denoiser(name), load_denoiser(name, fuse_conv_bn=True)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules()) == 12
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    noisy = torch.rand(2, 3, 37, 45, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (folded(noisy) - plain(noisy)).abs().max().item()
    assert diff < 1e-5
    # a DnCNN with batch norms whose statistics are far from the identity
    torch.manual_seed(0)
    dncnn = DnCNN(num_layers=5, bn=True)
    for m in dncnn.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.1, 4), m.weight.data.normal_()
    dncnn.eval()
    with torch.no_grad():
        before = dncnn(noisy)
        after = fuse_batch_norms(dncnn)(noisy)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in dncnn.modules())
    assert torch.allclose(after, before, atol=1e-5) and before.abs().max() > 0.1
    with pytest.raises(ValueError, match='DnCNN is in training mode.*call .eval'):
        fuse_batch_norms(DnCNN(num_layers=3, bn=True))
