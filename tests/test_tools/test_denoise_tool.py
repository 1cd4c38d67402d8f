"""tools/denoise.py as users run it: the shipped blind denoiser by default, a bad file reported
by name and skipped (exit 1), the rest written at their depth, inputs and outputs never
clobbered."""
import contextlib
import io
import runpy
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
TOOL = [sys.executable, str(REPO / 'tools/denoise.py')]
PHOTO = REPO / 'mmsemdenoise/demo_data/val/skimage_chelsea.jpg'


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / ((a.astype(float) - b.astype(float))**2).mean()))


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*TOOL, *args], capture_output=True, text=True, timeout=300)


def test_default_denoiser_on_a_folder_with_a_broken_file(tmp_path):
    src, out = tmp_path / 'in', tmp_path / 'out'
    src.mkdir()
    clean = cv2.imread(str(PHOTO))[:96, :120]
    cv2.imwrite(str(src / 'cat.png'), clean)
    deep = (cv2.cvtColor(clean, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)
    cv2.imwrite(str(src / 'deep.tif'), deep)
    jpeg = cv2.imencode('.jpg', clean)[1].tobytes()
    (src / 'broken.jpg').write_bytes(jpeg[:len(jpeg) // 3])
    before = {p.name: p.read_bytes() for p in src.iterdir()}

    proc = _run(str(src), str(out), '--add-noise', '25', '--tile', '64', '--overlap', '32')
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'broken.jpg' in proc.stderr and 'truncated JPEG' in proc.stderr
    assert 'wrote 2 image(s)' in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ['cat.png', 'cat_noisy.png', 'deep.tif',
                                                     'deep_noisy.tif']
    denoised, noisy = cv2.imread(str(out / 'cat.png')), cv2.imread(str(out / 'cat_noisy.png'))
    assert _psnr(noisy, clean) < 21 and _psnr(denoised, clean) > _psnr(noisy, clean) + 6
    deep_out = cv2.imread(str(out / 'deep.tif'), cv2.IMREAD_UNCHANGED)
    assert deep_out.dtype == np.uint16 and deep_out.shape == deep.shape
    assert _psnr(deep_out / 257, deep / 257) > 27
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before  # inputs untouched

    stamp = (out / 'cat.png').stat().st_mtime_ns
    code, stdout = _main(str(src / 'cat.png'), str(out), '--checkpoint', 'three-scale_blind_bsd400')
    assert code == 0 and 'kept 1 existing' in stdout
    assert (out / 'cat.png').stat().st_mtime_ns == stamp


def _main(*args: str) -> tuple:
    """The tool in this process (its start-up costs ~10 s on a busy machine): (exit code or
    error message, stdout)."""
    argv, stdout = sys.argv, io.StringIO()
    sys.argv = [str(TOOL[1]), *args]
    try:
        with contextlib.redirect_stdout(stdout), pytest.raises(SystemExit) as info:
            runpy.run_path(TOOL[1], run_name='__main__')
    finally:
        sys.argv = argv
    return info.value.code, stdout.getvalue()


def test_usage_errors_are_named(tmp_path):
    src = tmp_path / 'in'
    src.mkdir()
    cv2.imwrite(str(src / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    bare = tmp_path / 'bare.pth'
    torch.save({'conv.weight': torch.zeros(1)}, bare)  # a state dict: no architecture in it
    for args, message in [
        ((str(src), str(src)), 'holds the inputs'),
        ((str(src), str(tmp_path / 'out'), '--checkpoint', str(tmp_path / 'model.pth')),
         f'checkpoint file not found: {tmp_path / "model.pth"}'),
        ((str(src), str(tmp_path / 'out'), '--checkpoint', str(bare)),
         f'checkpoint {bare} carries no denoiser architecture'),
        ((str(src), str(tmp_path / 'out'), '--config', str(REPO / 'configs/denoise/official/'
                                                         'ffdnet-color_cbsd68.py')),
         'untrained weights'),
        ((str(tmp_path / 'nothing'), str(tmp_path / 'out')), 'input not found'),
        ((str(src), str(tmp_path / 'out'), '--checkpoint', 'mmsemdenoise://nope'),
         'no metafile entry has the weights mmsemdenoise://nope'),
    ]:
        code, _ = _main(*args)
        assert isinstance(code, str) and message in code, (args, code)
    assert not (tmp_path / 'out').exists()


def test_folded_batch_norms_write_the_outputs_of_the_trained_network(tmp_path):
    src = tmp_path / 'in'
    src.mkdir()
    cv2.imwrite(str(src / 'cat.png'), cv2.imread(str(PHOTO))[:64, :80])
    outputs = {}
    for flag in ([], ['--no-fuse-conv-bn']):
        out = tmp_path / ('unfused' if flag else 'fused')
        proc = _run(str(src), str(out), '--add-noise', '25', *flag)
        assert proc.returncode == 0, proc.stderr[-3000:]
        outputs[out.name] = cv2.imread(str(out / 'cat.png')).astype(int)
    diff = np.abs(outputs['fused'] - outputs['unfused'])
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99  # float rounding flips a rare pixel
