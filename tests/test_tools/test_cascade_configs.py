"""The shipped cascade configs run through tools/train.py on tiny data the tests create.

Real upstream configs (mmseg DeepLabV3 R50-D8 on VOC, our Fast-SCNN on CamVid), real Runner;
only sizes, data roots and checkpoints are overridden from the command line.
"""
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO = Path(__file__).resolve().parents[2]


def make_voc(root: Path, names=('2007_000001', '2007_000002', '2007_000003')) -> Path:
    """A VOC2012 layout with random 40x56 images and masks (classes 0..20, 255 border)."""
    rng = np.random.default_rng(0)
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                'ImageSets/Segmentation'):
        (root / sub).mkdir(parents=True)
    for name in names:
        cv2.imwrite(str(root / 'JPEGImages' / f'{name}.jpg'),
                    rng.integers(0, 256, (40, 56, 3), dtype=np.uint8))
        mask = rng.integers(0, 21, (40, 56), dtype=np.uint8)
        mask[0] = 255
        for folder in ('SegmentationClass', 'SegmentationClassAug'):
            cv2.imwrite(str(root / folder / f'{name}.png'), mask)
    for split in ('train', 'aug', 'val'):
        (root / 'ImageSets/Segmentation' / f'{split}.txt').write_text('\n'.join(names) + '\n')
    return root


def loader_options(prefix: str) -> list:
    return [f'{prefix}.num_workers=0', f'{prefix}.persistent_workers=False']


@pytest.mark.slow
def test_deeplab_denoise_voc_trains_on_tiny_voc(tmp_path, run_python, save_task_checkpoint):
    voc = make_voc(tmp_path / 'VOC2012')
    task_ckpt = save_task_checkpoint('configs/deeplab_denoise_voc.py', tmp_path / 'task.pth')
    small = '"(32,32)"'
    opts = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2', *loader_options('train_dataloader'),
            *loader_options('val_dataloader'),
            f'val_dataloader.dataset.data_root={voc}',
            'val_dataloader.dataset.pipeline.1.scale="(56,40)"',
            f'model.task_checkpoint={task_ckpt}', 'model.denoiser_checkpoint=None',
            'model.denoiser.type=ThreeScaleDenoiser',
            f'model.task_model.data_preprocessor.size={small}']
    for i in (0, 1):
        ds = f'train_dataloader.dataset.datasets.{i}'
        opts += [f'{ds}.data_root={voc}', f'{ds}.pipeline.2.scale="(56,40)"',
                 f'{ds}.pipeline.3.crop_size={small}', f'{ds}.pipeline.6.size={small}']
    work = tmp_path / 'work'
    proc = run_python([str(REPO / 'tools/train.py'), str(REPO / 'configs/deeplab_denoise_voc.py'),
                '--work-dir', str(work), '--cfg-options', *opts], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert 'loaded the frozen task model from' in out
    for key in ('loss_rec', 'loss_task_decode.loss_ce', 'loss_task_aux.loss_ce', 'mIoU',
                'denoise/psnr', 'denoise/ssim'):
        assert key in out, key
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=False)
    # the frozen task model's weights are the ones loaded, bit for bit
    task = torch.load(task_ckpt, map_location='cpu', weights_only=False)['state_dict']
    for key, value in task.items():
        assert torch.equal(ckpt['state_dict'][f'task_model.{key}'], value), key
    # and the optimizer state holds the denoiser's parameters only
    n_denoiser = sum(1 for k in ckpt['state_dict'] if k.startswith('denoiser.')
                     and 'running' not in k and 'num_batches' not in k)
    assert len(ckpt['optimizer']['state']) == n_denoiser


@pytest.mark.slow
@pytest.mark.parametrize('config', ['configs/cascade/fastscnn_denoise_camvid_cpu.py',
                                    'configs/cascade/fastscnn_denoise-labelfree_camvid_cpu.py'])
def test_camvid_cascade_trains_and_tests(tmp_path, read_scalars, config, make_camvid, run_python, save_task_checkpoint):
    data = make_camvid(tmp_path / 'CamVid')
    task_ckpt = save_task_checkpoint(config, tmp_path / 'task.pth')
    opts = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2', f'model.task_checkpoint={task_ckpt}',
            'model.denoiser_checkpoint=None', 'model.denoiser.type=ThreeScaleDenoiser',
            'model.denoiser.base_channels=8']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data}', *loader_options(loader)]
    work = tmp_path / 'work'
    proc = run_python([str(REPO / 'tools/train.py'), str(REPO / config), '--work-dir', str(work),
                '--cfg-options', *opts], cwd=tmp_path)
    records = read_scalars(work)
    train = [r for r in records if 'loss_rec' in r]
    assert [r['step'] for r in train] == [1, 2]  # logged at every iteration
    assert all(('loss_task_loss_distill' in r) == ('labelfree' in config) for r in train)
    assert [r['step'] for r in records if 'mIoU' in r] == [2]  # validation ran at the end
    # test time: the cascade on noisy inputs at another sigma, through tools/test.py
    proc = run_python([str(REPO / 'tools/test.py'), str(REPO / config), str(work / 'iter_2.pth'),
                '--work-dir', str(work), '--out', str(work / 'metrics.json'), '--cfg-options',
                *opts, 'model.test_noise.type=GaussianNoise', 'model.test_noise.sigma=50'],
               cwd=tmp_path)
    metrics = json.loads((work / 'metrics.json').read_text())
    assert {'mIoU', 'denoise/psnr', 'denoise/ssim'} <= set(metrics)
