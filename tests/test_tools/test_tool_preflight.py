"""tools/train.py and tools/test.py stop on known mistakes with one line, before any data is
loaded; tools/test.py evaluates only weights it loaded (a cascade's task model from the config's
``task_checkpoint`` when the checkpoint has none), and evaluates a stage-2 checkpoint where the
stage-1 run its config names is not there (the checkpoint carries the denoiser's architecture)."""
import subprocess
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmsemdenoise.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
DENOISE = REPO / 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'
CASCADE = REPO / 'configs/cascade/fastscnn_denoise_camvid_cpu.py'


def one_line_error(tool, argv, load_tool) -> str:
    with pytest.raises(SystemExit) as info:
        load_tool(tool).main([str(a) for a in argv])
    message = str(info.value.code)
    assert message.startswith(f'{tool}.py: error: ') and '\n' not in message, message
    return message


def dead_pid() -> int:
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def test_train_resume_of_weights_only_file_and_leftovers(tmp_path, load_tool):
    work = tmp_path / 'work'
    work.mkdir()
    torch.save({'state_dict': {'denoiser.w': torch.ones(1)}}, work / 'iter_2.pth')
    stale = work / f'iter_4.pth.tmp-{dead_pid()}'
    stale.write_bytes(b'half a checkpoint')
    missing_data = ['--cfg-options', f'train_dataloader.dataset.data_root={tmp_path}/none']
    message = one_line_error('train', [DENOISE, '--work-dir', work, '--resume', *missing_data],
                             load_tool)
    assert 'iter_2.pth: it holds no training state (meta.epoch, meta.iter missing' in message
    assert 'load_from=' in message
    assert not stale.exists()  # removed at the start
    # a mistyped checkpoint-hook option, named with the right one, before the first save
    message = one_line_error('train', [DENOISE, '--work-dir', tmp_path / 'w2', *missing_data,
                                       'default_hooks.checkpoint.max_keep_ckpt=2'], load_tool)
    assert 'takes no option max_keep_ckpt (did you mean max_keep_ckpts?)' in message
    message = one_line_error('train', [DENOISE, '--work-dir', tmp_path / 'w3', *missing_data,
                                       f'load_from={tmp_path}/none.pth'], load_tool)
    assert 'load_from: checkpoint file not found' in message


def stage1(path: Path) -> Path:
    """Denoiser keys only, as a stage-1 run of the cascade's denoiser (8 channels) saves them."""
    init_default_scope('mmsemdenoise')
    denoiser = MODELS.build(dict(type='ThreeScaleDenoiser', base_channels=8))
    torch.save({'meta': {}, 'state_dict': {f'denoiser.{k}': v
                                           for k, v in denoiser.state_dict().items()}}, path)
    return path


def test_test_tool_loads_or_refuses_the_task_model(tmp_path, load_tool, make_camvid,
                                                   save_task_checkpoint):
    data = make_camvid(tmp_path / 'CamVid', n_train=1, n_val=1)
    ckpt = stage1(tmp_path / 's1.pth')
    opts = ['model.denoiser.type=ThreeScaleDenoiser', 'model.denoiser.base_channels=8',
            f'test_dataloader.dataset.data_root={data}',
            'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    base = [CASCADE, ckpt, '--work-dir', tmp_path / 'work', '--cfg-options', *opts]
    # the config's task_checkpoint is missing: named, not evaluated at random
    message = one_line_error('test', [*base, f'model.task_checkpoint={tmp_path}/none.pth'],
                             load_tool)
    assert f'checkpoint file not found: {tmp_path}/none.pth' in message
    message = one_line_error('test', [*base, 'model.task_checkpoint=None'], load_tool)
    assert 'missing keys: task_model.' in message and '--non-strict' in message
    # with the task model's weights: loaded from task_checkpoint, then evaluated
    task = save_task_checkpoint(str(CASCADE.relative_to(REPO)), tmp_path / 'task.pth')
    metrics = load_tool('test').main([str(a) for a in [*base, f'model.task_checkpoint={task}']])
    assert 'mIoU' in metrics and 'denoise/psnr' in metrics
    log = '\n'.join(p.read_text() for p in (tmp_path / 'work').glob('*/*.log'))
    assert "task_model loaded from the config's task_checkpoint" in log, log[-2000:]


@pytest.mark.parametrize('flag', ['--noise-level', '--add-noise'])
@pytest.mark.parametrize('value', ['nan', 'inf', '-5'])
def test_denoise_refuses_non_finite_noise_levels(tmp_path, load_tool, capsys, flag, value):
    with pytest.raises(SystemExit) as info:
        load_tool('denoise').main([str(REPO / 'mmsemdenoise/demo_data/val'),
                                   str(tmp_path / 'out'), f'{flag}={value}'])
    assert info.value.code == 2
    assert f'argument {flag}: must be a finite number >= 0 (0-255), got {value}' in \
        capsys.readouterr().err
    assert not (tmp_path / 'out').exists()


def test_denoise_output_path_problems_are_one_line(tmp_path, load_tool):
    (tmp_path / 'file').write_text('not a folder')
    photos = REPO / 'mmsemdenoise/demo_data/val'
    message = one_line_error('denoise', [photos, tmp_path / 'file'], load_tool)
    assert f'output folder {tmp_path}/file is a file' in message
    message = one_line_error('denoise', [photos, tmp_path / 'file' / 'sub'], load_tool)
    assert f'{tmp_path}/file is a file' in message


@pytest.mark.slow
def test_test_tool_reads_the_architecture_of_the_tested_checkpoint(tmp_path, load_tool,
                                                                   make_camvid,
                                                                   save_task_checkpoint):
    """A user with the stage-2 checkpoint only: the config's denoiser_checkpoint (the stage-1
    run, the source of the architecture) is missing, so the architecture comes from the file
    being tested (its meta['model_cfg']); a file without it gets one line naming what to add."""
    data = make_camvid(tmp_path / 'CamVid', n_train=2, n_val=1)
    first = tmp_path / 's1.pth'
    init_default_scope('mmsemdenoise')
    small = dict(type='ThreeScaleDenoiser', base_channels=8)
    denoiser = MODELS.build(small)
    torch.save({'meta': {'model_cfg': small},  # as a converter writes it
                'state_dict': {f'denoiser.{k}': v for k, v in denoiser.state_dict().items()}},
               first)
    task = save_task_checkpoint(str(CASCADE.relative_to(REPO)), tmp_path / 'task.pth')
    # stage 2: one iteration of a real run of the shipped config, which declares no denoiser
    cfg = Config.fromfile(str(CASCADE))
    assert 'denoiser' not in cfg.model
    cfg.work_dir = str(tmp_path / 'stage2')
    cfg.model.update(denoiser_checkpoint=str(first), task_checkpoint=task)
    cfg.train_cfg.max_iters = 1
    cfg.train_dataloader.batch_size = 1
    cfg.train_dataloader.dataset.data_root = str(data)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    Runner.from_cfg(cfg).train()
    stage2 = tmp_path / 'stage2' / 'iter_1.pth'
    first.unlink()  # the stage-1 run is not on this machine

    opts = [f'model.denoiser_checkpoint={first}', f'model.task_checkpoint={task}',
            f'test_dataloader.dataset.data_root={data}', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']
    metrics = load_tool('test').main([str(a) for a in [
        CASCADE, stage2, '--work-dir', tmp_path / 'test', '--cfg-options', *opts]])
    assert 'mIoU' in metrics and 'denoise/psnr' in metrics
    log = '\n'.join(p.read_text() for p in (tmp_path / 'test').glob('*/*.log'))
    assert f'model.denoiser_checkpoint {first} is not there' in log, log[-2000:]
    # a stage-2 file written without DenoiserArchitectureHook: its meta['cfg'] names the
    # missing stage 1 only
    old = torch.load(stage2, map_location='cpu', weights_only=True)
    del old['meta']['model_cfg']
    torch.save(old, tmp_path / 'old.pth')
    message = one_line_error('test', [CASCADE, tmp_path / 'old.pth', '--work-dir',
                                      tmp_path / 'test', '--cfg-options', *opts], load_tool)
    assert str(first) in message and 'carries none of its own' in message
    assert 'model.denoiser.type=ThreeScaleDenoiser' in message
