"""Distributed training and evaluation on the CPU: ``tools/dist_train.sh`` / ``dist_test.sh``.

A delta of the shipped CPU stage-1 config (a small DnCNN without batch norm, float32, per-image
training noise seeded from the image id and the iteration, no random crops) trains 6 iterations as
one process x batch 4 and as ``bash tools/dist_train.sh CONFIG 2`` (gloo, two processes x batch
2). mmengine's samplers give rank r the samples r, r + 2, ... of the same shuffled stream, so both
runs see the same images at each step; DDP averages the gradients. A hook loaded with
``custom_imports`` records each process's losses. Then ``bash tools/dist_test.sh`` evaluates the
one-process checkpoint on an odd number of images (the sampler pads one rank) with two processes.
"""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

STAGE1 = 'configs/denoise/three-scale_bsd400_sigma25_cpu-1h.py'
ITERS = 6
RECORDER = '''
import json, os
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RecordLosses(Hook):
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        path = os.path.join(runner.work_dir, f'losses_rank{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter + 1, loss=float(outputs['loss']))) + '\\n')
'''


def write_setup(root: Path, repo_root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split, n in (('train', 8), ('val', 3)):
        (root / split).mkdir(parents=True)
        for i in range(n):
            cv2.imwrite(str(root / split / f'{split}_{i}.png'),
                        rng.integers(0, 256, (20, 24, 3), np.uint8))
    (root / 'record_losses.py').write_text(RECORDER)
    config = root / 'dist_check.py'
    config.write_text(f'''_base_ = '{repo_root / STAGE1}'
custom_imports = dict(imports=['record_losses'], allow_failed_imports=False)
model = dict(denoiser=dict(_delete_=True, type='DnCNN', channels=8, num_layers=4, bn=False),
             train_noise_seed=0)
optim_wrapper = dict(type='OptimWrapper')  # float32: tolerances of summation order only
train_cfg = dict(max_iters={ITERS}, val_interval={ITERS})
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval={ITERS}))
custom_hooks = [dict(type='mmsemdenoise.RandomStateHook'), dict(type='RecordLosses')]
pipeline = [dict(type='LoadImageFromFile'), dict(type='mmpretrain.PackInputs',
                                                 meta_keys=_base_.meta_keys)]
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=4, **loader, dataset=dict(
    data_root='{root}', data_prefix=dict(img_path='train'), pipeline=pipeline))
val_dataloader = dict(**loader, dataset=dict(data_root='{root}', data_prefix=dict(img_path='val')))
test_dataloader = val_dataloader
''')
    return config


def losses(work: Path, rank: int) -> list:
    lines = (work / f'losses_rank{rank}.jsonl').read_text().splitlines()
    return [json.loads(line)['loss'] for line in lines]


def final_metrics(work: Path) -> dict:
    lines = next(work.glob('2*/vis_data/scalars.json')).read_text().splitlines()
    entry = [json.loads(line) for line in lines if 'denoise/psnr' in line][-1]
    return {k: entry[k] for k in ('denoise/psnr', 'denoise/ssim')}


@pytest.fixture(scope='module')
def trained(tmp_path_factory, repo_root, run_tool):
    root = tmp_path_factory.mktemp('dist')
    config = write_setup(root, repo_root)
    one, two = root / 'one', root / 'two'
    run_tool([str(repo_root / 'tools/train.py'), str(config), '--work-dir', str(one)],
             cwd=repo_root, python_path=[root])
    proc = run_tool([str(repo_root / 'tools/dist_train.sh'), str(config), '2', '--work-dir',
                     str(two), '--cfg-options', 'train_dataloader.batch_size=2'],
                    cwd=repo_root, bash=True, python_path=[root])
    assert 'no CUDA: gloo process group, rank 0 of 2' in proc.stdout + proc.stderr
    return dict(root=root, config=config, one=one, two=two)


@pytest.mark.slow
def test_two_processes_train_as_one_with_twice_the_batch(trained):
    one, two = trained['one'], trained['two']
    single = losses(one, 0)
    ranks = [losses(two, r) for r in (0, 1)]
    assert len(single) == len(ranks[0]) == len(ranks[1]) == ITERS
    assert ranks[0] != ranks[1]  # each process trains on its own half of the batch
    np.testing.assert_allclose([(a + b) / 2 for a, b in zip(*ranks)], single, rtol=1e-5)
    weights = [torch.load(d / f'iter_{ITERS}.pth', map_location='cpu',
                          weights_only=False)['state_dict'] for d in (one, two)]
    assert weights[0].keys() == weights[1].keys() and weights[0]
    for key, value in weights[0].items():
        torch.testing.assert_close(weights[1][key], value, rtol=1e-4, atol=1e-6, msg=key)
    # validation during training gathered all 3 images from both processes
    for key, value in final_metrics(one).items():
        assert final_metrics(two)[key] == pytest.approx(value, abs=1e-4), key


@pytest.mark.slow
def test_dist_test_gives_the_single_process_metrics(trained, repo_root, run_tool):
    one = trained['one']
    out = trained['root'] / 'metrics_two.json'
    run_tool([str(repo_root / 'tools/dist_test.sh'), str(trained['config']),
              str(one / f'iter_{ITERS}.pth'), '2', '--work-dir', str(trained['root'] / 'test2'),
              '--out', str(out)], cwd=repo_root, bash=True, python_path=[trained['root']])
    two = json.loads(out.read_text())
    for key, value in final_metrics(one).items():
        assert two[key] == pytest.approx(value, rel=1e-12), key
