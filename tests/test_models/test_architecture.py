"""A checkpoint carries its denoiser's architecture: meta['cfg'] (read, never run),
meta['model_cfg'] (converters), a shipped name's metafile; an explicit one must agree."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmsemdenoise.apis import load_denoiser
from mmsemdenoise.engine import parse_variants
from mmsemdenoise.models.cascade import DenoisingCascade
from mmsemdenoise.models.denoisers import DnCNN
from mmsemdenoise.models.denoisers.architecture import carried_architecture
from mmsemdenoise.utils.config_text import model_settings

SMALL = dict(type='DnCNN', channels=8, num_layers=3, bn=False)


def _run_checkpoint(path, model: dict, state: dict) -> str:
    """A checkpoint as mmengine's Runner writes it: the run's config text in meta['cfg']."""
    text = Config(dict(model=model, default_scope='mmsemdenoise')).pretty_text
    torch.save({'state_dict': state, 'meta': {'cfg': text}}, path)
    return str(path)


def test_denoiser_built_from_the_config_inside_its_checkpoint(tmp_path):
    net = DnCNN(channels=8, num_layers=3, bn=False)
    stage1 = _run_checkpoint(tmp_path / 'stage1.pth',
                             dict(type='DenoisingCascade', denoiser=SMALL),
                             {f'denoiser.{k}': v for k, v in net.state_dict().items()})
    loaded = load_denoiser(None, stage1)
    assert isinstance(loaded, DnCNN) and len(loaded.layers) == 3
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in loaded.state_dict().items())
    # a stage 2 whose config declared no denoiser: the link to stage 1 is followed
    stage2 = _run_checkpoint(tmp_path / 'stage2.pth',
                             dict(type='DenoisingCascade', denoiser_checkpoint=stage1), {})
    assert carried_architecture(stage2) == SMALL
    (tmp_path / 'stage1.pth').unlink()
    with pytest.raises(FileNotFoundError, match='stage2.pth takes its denoiser architecture '
                       'from .*stage1.pth'):
        carried_architecture(stage2)


def test_cascade_takes_checks_or_refuses_the_architecture(tmp_path):
    init_default_scope('mmsemdenoise')
    net = DnCNN(channels=8, num_layers=3, bn=False)
    path = tmp_path / 'converted.pth'  # as tools/convert_matlab_weights.py writes
    torch.save({'state_dict': net.state_dict(), 'meta': {'model_cfg': SMALL}}, path)
    cascade = DenoisingCascade(denoiser_checkpoint=str(path))
    cascade.init_weights()
    assert isinstance(cascade.denoiser, DnCNN)
    assert torch.equal(cascade.denoiser.layers[0].conv.weight, net.layers[0].conv.weight)
    # an explicit declaration that agrees (defaults filled in) is fine; one that does not says so
    DenoisingCascade(denoiser=dict(type='mmsemdenoise.DnCNN', channels=8, num_layers=3,
                                   bn=False, in_channels=3), denoiser_checkpoint=str(path))
    with pytest.raises(ValueError, match=r"DenoisingCascade: denoiser=dict\(type='DnCNN', "
                       r"channels=16.*contradicts .*converted.pth: dict\(type='DnCNN', "
                       'channels=8'):
        DenoisingCascade(denoiser=dict(SMALL, channels=16), denoiser_checkpoint=str(path))
    # a bare state dict carries nothing: declare it, or be told how
    torch.save(net.state_dict(), tmp_path / 'bare.pth')
    with pytest.raises(ValueError, match="bare.pth carries no denoiser architecture.*"
                       r"denoiser=dict\(type=...\)"):
        DenoisingCascade(denoiser_checkpoint=str(tmp_path / 'bare.pth'))
    declared = DenoisingCascade(denoiser=SMALL, denoiser_checkpoint=str(tmp_path / 'bare.pth'))
    assert isinstance(declared.denoiser, DnCNN)
    # a shipped name: its metafile entry's config
    shipped = DenoisingCascade(denoiser_checkpoint='mmsemdenoise://three-scale_blind_bsd400')
    assert type(shipped.denoiser).__name__ == 'ThreeScaleDenoiser'
    assert DenoisingCascade().denoiser is None  # nothing named: the noisy-input baseline


def test_config_text_is_read_not_run(tmp_path):
    marker = tmp_path / 'ran'
    text = (f"open({str(marker)!r}, 'w').write('x')\n"
            "model = dict(type='DenoisingCascade', denoiser=dict(type='DnCNN', num_layers=3),"
            " noise=dict(sigma=(0, 75)))\n")
    assert model_settings(text, ['denoiser']) == {'denoiser': {'type': 'DnCNN', 'num_layers': 3}}
    torch.save({'state_dict': {}, 'meta': {'cfg': text}}, tmp_path / 'a.pth')
    assert carried_architecture(str(tmp_path / 'a.pth')) == dict(type='DnCNN', num_layers=3)
    hostile = f"model = dict(denoiser=dict(type=open({str(marker)!r}, 'w').write('x')))\n"
    torch.save({'state_dict': {}, 'meta': {'cfg': hostile}}, tmp_path / 'b.pth')
    with pytest.raises(ValueError, match="meta\\['cfg'\\] is not a readable config"):
        carried_architecture(str(tmp_path / 'b.pth'))
    assert not marker.exists()


def test_sweep_variants_are_names_and_checkpoints(tmp_path):
    path = tmp_path / 'a.pth'
    torch.save({}, path)
    assert parse_variants([f'a={path}', 'blind=mmsemdenoise://three-scale_blind_bsd400']) == {
        'a': str(path), 'blind': 'mmsemdenoise://three-scale_blind_bsd400'}
    with pytest.raises(ValueError, match='takes no ,CONFIG'):
        parse_variants([f'a={path},configs/x.py'])
    with pytest.raises(ValueError, match="'a' is used twice"):
        parse_variants([f'a={path}', f'a={path}'])
    with pytest.raises(ValueError, match='NAME=CHECKPOINT'):
        parse_variants([str(path)])
