"""RobustnessTestLoop: the corruption benchmark and the noise sweep as an mmengine test loop.

Real mmengine Runner, the shipped CamVid cascade config (real Fast-SCNN from mmseg, our 3-scale
denoiser with 8 base channels), on a tiny CamVid-layout folder the test writes; the cascade is
freshly initialised and saved as a checkpoint, as ``tools/test.py CONFIG CKPT`` expects it. The
command line runs once in one process and once in two (``torchrun``, gloo on the CPU), and the two
reports must be the same.
"""
import csv
import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmsemdenoise.analysis import summarize
from mmsemdenoise.analysis.formatting import scalars
from mmsemdenoise.apis import load_denoiser
from mmsemdenoise.engine.skipped_files_hook import SKIPPED_KEY
from mmsemdenoise.models.denoisers import ClassicalDenoiser
from mmsemdenoise.models.noise import GaussianNoise
from mmsemdenoise.registry import MODELS

CONFIG = 'configs/cascade/fastscnn_denoise_camvid_cpu.py'
SMALL = ['model.denoiser.type=ThreeScaleDenoiser', 'model.denoiser.base_channels=8',
         'model.denoiser.init_cfg=None']


def write_camvid(root: Path, n_val: int) -> Path:
    """Random 64x48 images and masks (0..11) as CamVid ``val/`` + ``valannot/``."""
    rng = np.random.default_rng(0)
    (root / 'val').mkdir(parents=True)
    (root / 'valannot').mkdir()
    for i in range(n_val):
        cv2.imwrite(str(root / 'val' / f'val_{i:03d}.png'),
                    rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
        cv2.imwrite(str(root / 'valannot' / f'val_{i:03d}.png'),
                    rng.integers(0, 12, (48, 64), dtype=np.uint8))
    return root


def cascade_config(repo_root: Path, data: Path) -> Config:
    cfg = Config.fromfile(str(repo_root / CONFIG))
    cfg.merge_from_dict({'model.denoiser.type': 'ThreeScaleDenoiser',
                         'model.denoiser.base_channels': 8, 'model.denoiser.init_cfg': None,
                         'test_dataloader.dataset.data_root': str(data),
                         'test_dataloader.num_workers': 0,
                         'test_dataloader.persistent_workers': False})
    return cfg


def save_cascade(cfg: Config, path: Path, seed: int) -> str:
    """A freshly built cascade (task model and denoiser) saved as a Runner checkpoint."""
    init_default_scope('mmsemdenoise')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.fixture(scope='module')
def camvid_setup(repo_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('robustness')
    data = write_camvid(tmp / 'CamVid', n_val=4)
    cfg = cascade_config(repo_root, data)
    return dict(tmp=tmp, data=data, cfg=cfg, ckpt=save_cascade(cfg, tmp / 'cascade.pth', 0),
                other=save_cascade(cfg, tmp / 'other.pth', 1))


def read_csv(path: Path) -> list:
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_benchmark_through_the_runner(camvid_setup):
    setup = camvid_setup
    cfg = setup['cfg'].copy()
    out = setup['tmp'] / 'api'
    cfg.work_dir = str(setup['tmp'] / 'work_api')
    cfg.load_from = setup['ckpt']
    cfg.test_cfg = dict(type='RobustnessTestLoop', corruptions=['gaussian_noise', 'speckle_noise'],
                        severities=[1, 5], variants=dict(again=setup['ckpt'], other=setup['other']),
                        num_examples=2, example_severities=[5], out_dir=str(out))
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    model = runner.model
    own = model.denoiser
    assert own is not None and isinstance(model.test_noise, GaussianNoise)  # restored

    rows = read_csv(out / 'robustness.csv')
    assert list(rows[0])[:3] == ['variant', 'corruption', 'severity']
    runs = [(r['variant'], r['corruption'], r['severity']) for r in rows]
    expected = [(v, n, s) for v in ('noisy', 'model', 'again', 'other')
                for n, s in [('clean', '0'), ('gaussian_noise', '1'), ('gaussian_noise', '5'),
                             ('speckle_noise', '1'), ('speckle_noise', '5')]]
    assert runs == expected
    got = {run: {k: float(v) for k, v in r.items() if k not in ('variant', 'corruption',
                                                                 'severity')}
           for run, r in zip(runs, rows)}
    assert math.isinf(got['noisy', 'clean', '0']['denoise/psnr'])  # P of the noisy variant
    # severity 5 is worse than 1 (noisy input), and the same checkpoint loaded as a variant
    # gives exactly the runner-loaded model's numbers; another checkpoint does not
    for noise in ('gaussian_noise', 'speckle_noise'):
        assert got['noisy', noise, '5']['denoise/psnr'] < got['noisy', noise, '1']['denoise/psnr']
    for run in [r for r in runs if r[0] == 'model']:
        assert got[run] == got[('again', ) + run[1:]]
    assert got['model', 'gaussian_noise', '5'] != got['other', 'gaussian_noise', '5']

    report = json.loads((out / 'robustness.json').read_text())
    assert report['corruptions_in_mPC'] == ['gaussian_noise']  # speckle: validation corruption
    for variant in ('noisy', 'model'):
        s = report['summary'][variant]['mIoU']
        p = got[variant, 'clean', '0']['mIoU']
        mpc = (got[variant, 'gaussian_noise', '1']['mIoU'] +
               got[variant, 'gaussian_noise', '5']['mIoU']) / 2
        assert s['P'] == pytest.approx(p) and s['mPC'] == pytest.approx(mpc)
        assert s['rPC'] == pytest.approx(mpc / p)
        assert metrics[f'{variant}/mPC/mIoU'] == pytest.approx(mpc)
        assert report['results'][variant]['gaussian_noise']['5']['mIoU'] == \
            pytest.approx(got[variant, 'gaussian_noise', '5']['mIoU'])
    text = (out / 'robustness.md').read_text()
    assert '| variant | P | mPC | rPC (%) |' in text and 'mIoU of `model`' in text
    for corruption in ('gaussian_noise', 'speckle_noise'):
        plot = cv2.imread(str(out / f'robustness_{corruption}.png'))
        assert plot is not None and plot.shape[1] == 5 * 400  # one panel per metric
        grid = cv2.imread(str(out / f'examples_{corruption}_severity5.png'))
        # noisy, model, again, other, clean + labels; 2 images x (image row + mask row)
        assert grid is not None and grid.shape[1] == 6 * 220 and grid.std() > 10
    assert not (out / 'examples_gaussian_noise_severity1.png').exists()


def test_loop_rejects_bad_settings(camvid_setup):
    setup = camvid_setup
    for test_cfg, message in [
            (dict(corruptions=['fog']), r"unknown \['fog'\]"),
            (dict(severities=[0, 1]), 'severities must lie in 1..5'),
            (dict(sigmas=[10, 10]), 'sigmas must be distinct'),
            (dict(aggregate='some'), 'aggregate must be one of'),
            (dict(variants=dict(noisy=setup['ckpt'])), "'noisy' is reserved"),
            (dict(variants=dict(x='missing.pth')), "variant 'x': checkpoint file not found")]:
        cfg = setup['cfg'].copy()
        cfg.work_dir = str(setup['tmp'] / 'work_bad')
        cfg.test_cfg = dict(type='RobustnessTestLoop', **test_cfg)
        with pytest.raises((ValueError, FileNotFoundError), match=message):
            Runner.from_cfg(cfg).test_loop



@pytest.mark.slow
def test_a_variant_given_by_shipped_name(camvid_setup, repo_root):
    """``variants=dict(blind='three-scale_blind_bsd400')``, the bare shipped name as
    tools/denoise.py takes it: loaded with its own architecture (the metafile's config, not the
    sweep config's 8-channel one), not refused as a missing file."""
    from mmsemdenoise.apis import get_model
    cfg = camvid_setup['cfg'].copy()
    cfg.work_dir = str(camvid_setup['tmp'] / 'work_shipped')
    cfg.test_cfg = dict(type='RobustnessTestLoop', sigmas=[25],
                        variants=dict(blind='three-scale_blind_bsd400'))
    loaded = Runner.from_cfg(cfg).test_loop.denoisers['blind']
    shipped = get_model('three-scale_blind_bsd400').state_dict()
    assert all(torch.equal(v, shipped[k]) for k, v in loaded.state_dict().items())

def test_report_figures_follow_mmdetection():
    rows = [dict(variant='v', noise='clean', severity=0, m=80.0, psnr=float('inf'))]
    for noise, values in (('gaussian_noise', [70, 60]), ('shot_noise', [50, 40]),
                          ('speckle_noise', [10, 0])):
        rows += [dict(variant='v', noise=noise, severity=s, m=float(v), psnr=20.0)
                 for s, v in zip((1, 2), values)]
    corruptions = ['gaussian_noise', 'shot_noise', 'speckle_noise']
    bench = summarize(rows, corruptions, [1, 2], 'benchmark')['v']
    assert bench['m'] == {'P': 80.0, 'mPC': 55.0, 'rPC': 55.0 / 80.0}
    assert summarize(rows, corruptions, [1, 2], 'all')['v']['m']['mPC'] == 230 / 6
    assert math.isnan(bench['psnr']['rPC']) and bench['psnr']['mPC'] == 20.0  # P infinite


def test_swapped_restores_and_moves_the_denoiser(camvid_setup):
    init_default_scope('mmsemdenoise')
    model = MODELS.build(camvid_setup['cfg'].model)
    own, noise = model.denoiser, model.test_noise
    other = MODELS.build(dict(type='ThreeScaleDenoiser', base_channels=4))
    with model.swapped(denoiser=other.double(), test_noise=dict(type='CorruptionNoise',
                                                                corruption='shot_noise')):
        assert model.denoiser is other and model.test_noise.corruption == 'shot_noise'
        weight = next(other.parameters())
        assert weight.is_contiguous(memory_format=torch.channels_last) or weight.dim() != 4
    assert model.denoiser is own and model.test_noise is noise
    with pytest.raises(RuntimeError, match='inside'):
        with model.swapped(denoiser=None, test_noise=None):
            assert model.denoiser is None and model.test_noise is None
            raise RuntimeError('inside')
    assert model.denoiser is own and model.test_noise is noise
    with model.swapped(test_noise=None):  # the denoiser is kept
        assert model.denoiser is own


@pytest.mark.slow
def test_tools_test_one_and_two_processes_give_the_same_table(camvid_setup, repo_root, run_tool):
    """``tools/test.py CONFIG CKPT --cfg-options test_cfg.type=RobustnessTestLoop ...``, plain
    and under ``torchrun --nproc_per_node 2`` (gloo on the CPU): the same report."""
    setup = camvid_setup
    options = ['test_cfg.type=RobustnessTestLoop', "test_cfg.corruptions=['impulse_noise','shot_noise']",
               'test_cfg.severities=[2,4]', f'test_cfg.variants.other={setup["other"]}',
               'test_cfg.num_examples=4', 'test_cfg.example_severities=[4]',
               f'test_dataloader.dataset.data_root={setup["data"]}',
               'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False', *SMALL]
    outs = {}
    for name, nproc in (('one', None), ('two', 2)):
        out = setup['tmp'] / f'tool_{name}'
        proc = run_tool(
            [str(repo_root / 'tools/test.py'), str(repo_root / CONFIG), setup['ckpt'],
             '--work-dir', str(setup['tmp'] / f'work_{name}'), '--cfg-options',
             f'test_cfg.out_dir={out}', *options], cwd=repo_root, nproc=nproc)
        log = proc.stdout + proc.stderr
        assert '| variant | P | mPC | rPC (%) |' in log  # printed
        # the sampler split the 4 images over the processes: 2 each, not 4 each; every run
        split = '[4]' if nproc is None else '[2, 2]'
        runs = 3 * (1 + 2 * 2)  # 3 variants x (clean + 2 corruptions x 2 severities)
        assert log.count(f'images evaluated per process {split} of 4') == runs, log[-3000:]
        outs[name] = out
    for report in ('robustness.md', 'robustness.csv', 'robustness.json'):
        assert (outs['one'] / report).read_text() == (outs['two'] / report).read_text(), report
    rows = read_csv(outs['one'] / 'robustness.csv')
    assert [r['variant'] for r in rows[::5]] == ['noisy', 'model', 'other']
    # the example grids hold the same images in the same (dataset) order
    one = cv2.imread(str(outs['one'] / 'examples_impulse_noise_severity4.png'))
    two = cv2.imread(str(outs['two'] / 'examples_impulse_noise_severity4.png'))
    assert one is not None and np.array_equal(one, two)
    shutil.rmtree(setup['tmp'] / 'work_two', ignore_errors=True)



def run_sweep(setup, name: str, **test_cfg) -> tuple:
    """The loop over sigmas 0 and 30 with the classical, the checkpoint and another variant:
    the rows of ``sweep.csv``, the report folder and the flat metrics."""
    cfg = setup['cfg'].copy()
    cfg.work_dir = str(setup['tmp'] / f'work_{name}')
    cfg.load_from = setup['ckpt']
    out = setup['tmp'] / name
    cfg.test_cfg = dict(type='RobustnessTestLoop', sigmas=[0, 30], corruptions=[],
                        variants=dict(other=setup['other']), classical='nlm', num_examples=2,
                        out_dir=str(out), **test_cfg)
    flat = Runner.from_cfg(cfg).test()
    return read_csv(out / 'sweep.csv'), out, flat


def one_epoch_per_run(setup, variants: dict, sigmas) -> dict:
    """The oracle: one plain mmengine test epoch (``TestLoop``, ``DenoisingCascade.predict``)
    per (variant, sigma), the variant (a module, None, or ``'model'``: the checkpoint's own)
    and the noise exchanged with ``swapped``; the flat metrics the loop returns
    (``'<variant>/sigma<s>/<metric>'``)."""
    cfg = setup['cfg'].copy()
    cfg.work_dir = str(setup['tmp'] / 'work_oracle')
    cfg.load_from = setup['ckpt']
    cfg.test_cfg = dict(type='TestLoop')
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()  # the cascade's own weights, before any denoiser is swapped in
    denoisers = {name: runner.model.denoiser if d == 'model' else d
                 for name, d in dict(clean=None, **variants).items()}
    flat = {}
    runs = [('clean', None, None)] + [(name, sigma, dict(type='GaussianNoise', sigma=sigma))
                                      for sigma in sigmas for name in variants]
    for name, sigma, noise in runs:
        with runner.model.swapped(denoiser=denoisers[name], test_noise=noise):
            metrics = scalars(runner.test())
        metrics.pop(SKIPPED_KEY, None)
        for s in (sigmas if sigma is None else [sigma]):
            flat.update({f'{name}/sigma{s:g}/{k}': v for k, v in metrics.items()})
    return flat


@pytest.mark.slow
def test_one_pass_gives_the_metrics_of_one_epoch_per_run(camvid_setup):
    """The loop's one pass (each noise drawn and the clean predictions made once per batch by
    ``predict_settings``, predictions reused where the task input is the same) gives exactly
    the metrics of one test epoch per (variant, sigma); bfloat16 inference of the learned
    denoisers moves their PSNR by little and leaves the other variants alone."""
    single, single_out, flat = run_sweep(camvid_setup, 'single')
    assert [(r['variant'], r['sigma']) for r in single] == \
        [(v, s) for v in ('clean', 'noisy', 'nlm', 'model', 'other') for s in ('0', '30')]
    init_default_scope('mmsemdenoise')
    other = load_denoiser(dict(camvid_setup['cfg'].model.denoiser), camvid_setup['other'])
    oracle = one_epoch_per_run(camvid_setup, {'noisy': None, 'nlm': ClassicalDenoiser('nlm'),
                                              'model': 'model', 'other': other}, [0.0, 30.0])
    flat.pop(SKIPPED_KEY)
    assert flat.keys() == oracle.keys()
    for key, value in flat.items():  # bit for bit (inf == inf; nan for R at sigma 0)
        assert value == oracle[key] or (math.isnan(value) and math.isnan(oracle[key])), key
    assert sorted(p.name for p in single_out.glob('examples_*')) == \
        [f'examples_sigma{s}.png' for s in (0, 30)]

    bf16, _, _ = run_sweep(camvid_setup, 'bf16', inference_dtype='bfloat16')
    psnr = next(key for key in single[0] if 'psnr' in key.lower())
    for fp32_row, bf16_row in zip(single, bf16):
        if fp32_row['variant'] in ('model', 'other'):
            assert abs(float(bf16_row[psnr]) - float(fp32_row[psnr])) < 0.1, (fp32_row, bf16_row)
        else:  # no learned denoiser: bit-identical
            assert bf16_row == fp32_row


def test_loop_rejects_an_unknown_inference_dtype(camvid_setup):
    cfg = camvid_setup['cfg'].copy()
    cfg.work_dir = str(camvid_setup['tmp'] / 'work_dtype')
    cfg.test_cfg = dict(type='RobustnessTestLoop', sigmas=[0], inference_dtype='bf16')
    with pytest.raises(ValueError, match="inference_dtype must name a torch dtype.*'bf16'"):
        Runner.from_cfg(cfg).test_loop
