"""benchmarks/inference_precision.py compares folded / bfloat16 inference with float32 on photos."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_folding_in_float32_keeps_the_psnr_and_every_way_is_reported():
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'inference_precision.py'), '--folder',
         str(REPO / 'mmsemdenoise/demo_data/val'), '--images', '1', '--sigmas', '0', '25'],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {tuple(c.strip() for c in line.strip('|').split('|')[:2]): line.split('|')[3:7]
            for line in done.stdout.splitlines() if line.startswith('| ') and 'way' not in line}
    assert set(rows) == {(s, w) for s in ('0', '25') for w in ('fp32 folded', 'bf16',
                                                               'bf16 folded')}, done.stdout
    for sigma in ('0', '25'):
        psnr, mean, largest, pixel = (float(v) for v in rows[(sigma, 'fp32 folded')])
        assert psnr > 25 and abs(mean) < 1e-3 and float(pixel) < 1e-5, done.stdout
        assert 0 < float(rows[(sigma, 'bf16')][3]) < 0.05  # bfloat16 rounds, but little
