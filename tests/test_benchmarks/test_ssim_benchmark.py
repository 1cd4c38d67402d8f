"""benchmarks/ssim.py times our SSIM against scikit-image's and finds the same values."""
import runpy
from pathlib import Path

import pytest


def test_ssim_benchmark_prints_both_rows_and_a_tiny_difference(
        repo_root: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip('skimage.metrics')
    script = runpy.run_path(str(repo_root / 'benchmarks' / 'ssim.py'), run_name='ssim')
    script['main'](['--images', '2', '--size', '24', '40', '--repeats', '1'])
    out = capsys.readouterr().out
    assert out.startswith('2 images of 3x24x40, 1 repeats')
    rows = {line.split('|')[1].strip(): [c.strip() for c in line.split('|')[2:5]]
            for line in out.splitlines() if line.startswith('| ') and 'SSIM' not in line}
    assert set(rows) == {'mmsemdenoise (torch, float64)', 'scikit-image structural_similarity'}
    ours = rows['mmsemdenoise (torch, float64)']
    assert float(ours[0]) > 0 and float(ours[1]) > 0
    assert float(ours[2]) < 1e-10  # the same protocol: equal to float rounding
