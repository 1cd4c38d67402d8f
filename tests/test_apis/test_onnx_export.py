"""ONNX export: onnxruntime matches PyTorch at sizes other than the traced one (odd and even
sides, batch 1 and 2) for the paper's network, DnCNN and FFDNet; tools/deployment/pytorch2onnx.py
on a shipped name."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmsemdenoise.apis import load_denoiser
from mmsemdenoise.apis.onnx_export import export_onnx, onnx_max_abs_diff
from mmsemdenoise.models.denoisers import ClassicalDenoiser, FFDNet

pytest.importorskip('onnx', reason='ONNX export needs onnx: pip install ".[deploy]"')
pytest.importorskip('onnxruntime', reason='the check needs onnxruntime: pip install ".[deploy]"')

REPO = Path(__file__).resolve().parents[2]
SIZES = ((1, 37, 50), (2, 64, 41))  # (N, H, W); the export traces (1, 48, 64)


@pytest.mark.parametrize('config', ['configs/_base_/models/cdncnn_color.py',
                                    'configs/_base_/models/ffdnet_color.py'])
def test_onnxruntime_matches_torch_for_dncnn_and_ffdnet(tmp_path, config):
    torch.manual_seed(0)  # random initial weights
    denoiser = load_denoiser(str(REPO / config)).train()
    path = export_onnx(denoiser, tmp_path / 'net.onnx')
    assert denoiser.training  # exported from a copy in eval mode
    diffs = onnx_max_abs_diff(path, denoiser, SIZES)
    assert set(diffs) == set(SIZES) and max(diffs.values()) <= 1e-4, diffs
    with pytest.raises(FileExistsError, match='net.onnx exists'):
        export_onnx(denoiser, path)


def test_ffdnet_graph_takes_the_noise_level(tmp_path):
    import onnxruntime
    torch.manual_seed(0)
    ffdnet = FFDNet(channels=16, num_layers=3).eval()  # shallow: the level matters visibly
    session = onnxruntime.InferenceSession(str(export_onnx(ffdnet, tmp_path / 'f.onnx')))
    assert [i.name for i in session.get_inputs()] == ['noisy', 'noise_level']
    noisy = torch.rand(2, 3, 21, 30)
    outs = {}
    for sigma in (5, 50):
        level = torch.tensor([sigma, 2 * sigma]) / 255.0
        (outs[sigma], ) = session.run(None, {'noisy': noisy.numpy(), 'noise_level': level.numpy()})
        with torch.no_grad():
            assert abs(outs[sigma] - ffdnet(noisy, level).numpy()).max() <= 1e-5
    assert abs(outs[5] - outs[50]).max() > 1e-2  # an input of the graph, not a constant


def test_classical_denoiser_is_refused(tmp_path):
    with pytest.raises(TypeError, match='cannot be exported'):
        export_onnx(ClassicalDenoiser(), tmp_path / 'nlm.onnx')
    assert not (tmp_path / 'nlm.onnx').exists()


def test_tool_exports_the_shipped_three_scale_denoiser(tmp_path):
    out = tmp_path / 'blind.onnx'
    proc = subprocess.run([sys.executable, str(REPO / 'tools/deployment/pytorch2onnx.py'),
                           'mmsemdenoise://three-scale_blind_bsd400', str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'ThreeScaleDenoiser' in proc.stdout and proc.stdout.count('max |diff|') == 2
    denoiser = load_denoiser('mmsemdenoise://three-scale_blind_bsd400')  # the trained weights
    diffs = onnx_max_abs_diff(out, denoiser, SIZES)
    assert max(diffs.values()) <= 1e-4, diffs
    import onnxruntime
    session = onnxruntime.InferenceSession(str(out))
    assert [i.name for i in session.get_inputs()] == ['noisy']
