"""tools/convert_matlab_weights.py: checkpoint content, mmengine loading, overwrite, errors."""
import pytest
import torch
from mmengine.runner import load_checkpoint

from mmsemdenoise.models.converters import build_from_matlab
from mmsemdenoise.registry import MODELS


@pytest.mark.parametrize('name,arch', [('CDnCNN_color_sigma50.mat', 'dncnn'),
                                       ('FFDNet_color.mat', 'ffdnet')])
def test_checkpoint_loads_into_the_registered_model(tmp_path, name, arch, shared_data, load_tool):
    src = shared_data(f'weights/{name}')
    dst = tmp_path / 'out' / f'{arch}.pth'
    assert load_tool('convert_matlab_weights').main([str(src), str(dst), '--arch', arch]) == 0
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    meta = ckpt['meta']
    assert meta['source'] == name and meta['arch'] == arch and len(meta['source_sha256']) == 64
    model = MODELS.build(meta['model_cfg'])
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    reference = build_from_matlab(str(src))
    noisy = torch.rand(1, 3, 12, 10)
    sigma = torch.tensor([50 / 255])
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(noisy, sigma), reference(noisy, sigma))


def test_refuses_to_overwrite_without_force(tmp_path, capsys, shared_data, load_tool):
    src = str(shared_data('weights/CDnCNN_color_sigma15.mat'))
    dst = tmp_path / 'ckpt.pth'
    dst.write_bytes(b'keep me')
    tool = load_tool('convert_matlab_weights')
    assert tool.main([src, str(dst), '--arch', 'dncnn']) == 1
    assert 'exists; pass --force' in capsys.readouterr().err
    assert dst.read_bytes() == b'keep me'
    assert tool.main([src, str(dst), '--arch', 'dncnn', '--force']) == 0
    assert 'state_dict' in torch.load(dst, weights_only=True)


def test_clear_errors(tmp_path, capsys, shared_data, load_tool):
    tool = load_tool('convert_matlab_weights')
    dst = tmp_path / 'ckpt.pth'
    assert tool.main([str(tmp_path / 'missing.mat'), str(dst), '--arch', 'dncnn']) == 1
    assert 'not found' in capsys.readouterr().err
    src = str(shared_data('weights/FFDNet_color.mat'))
    assert tool.main([src, str(dst), '--arch', 'dncnn']) == 1
    assert "are arch='ffdnet'" in capsys.readouterr().err
    assert not dst.exists()
    with pytest.raises(SystemExit):
        tool.main([src, str(dst), '--arch', 'unet'])


def test_config_init_cfg_loads_the_checkpoint(tmp_path, shared_data, load_tool):
    src = shared_data('weights/CDnCNN_color_sigma25.mat')
    dst = tmp_path / 'cdncnn_sigma25.pth'
    assert load_tool('convert_matlab_weights').main([str(src), str(dst), '--arch', 'dncnn']) == 0
    model = MODELS.build(dict(type='DnCNN', num_layers=20, bn=False,
                              init_cfg=dict(type='Pretrained', checkpoint=str(dst))))
    model.init_weights()
    reference = build_from_matlab(str(src))
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_prefix_makes_a_cascade_checkpoint(tmp_path, shared_data, load_tool):
    """``--prefix denoiser.`` loads strictly into a DenoisingCascade (tools/test.py, load_from)."""
    from mmengine.registry import init_default_scope
    src = shared_data('weights/CDnCNN_color_sigma25.mat')
    dst = tmp_path / 'cascade.pth'
    assert load_tool('convert_matlab_weights').main([str(src), str(dst), '--arch', 'dncnn', '--prefix', 'denoiser.']) == 0
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert all(k.startswith('denoiser.') for k in ckpt['state_dict'])
    init_default_scope('mmsemdenoise')
    cascade = MODELS.build(dict(type='DenoisingCascade', denoiser=ckpt['meta']['model_cfg']))
    load_checkpoint(cascade, str(dst), map_location='cpu', strict=True)
