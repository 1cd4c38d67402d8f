"""NaN/Inf losses and gradients: training stops (or skips the step) before the weights move.

A tiny real ``BaseModel`` goes through mmengine's own ``train_step`` with the wrappers built by
``build_optim_wrapper``; then a real Runner trains the stage-1 cascade with a registered loss that
turns NaN/Inf at a chosen iteration.
"""
import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from mmsemdenoise.engine import NonFiniteLossError
from mmsemdenoise.registry import HOOKS, MODELS


class TwoTermModel(BaseModel):
    """``loss_a`` (always finite), ``loss_b`` (poisoned by ``self.fault``), ``acc`` (logged);
    batch norm, whose running statistics move in the forward pass."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.bn = nn.BatchNorm1d(1)
        self.fault = None

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.bn(self.linear(inputs))
        losses = {'loss_a': out.pow(2).mean(), 'loss_b': (out - 1).abs().mean(),
                  'acc': torch.tensor(float('nan'))}  # not a loss term: never checked
        if self.fault == 'nan':
            losses['loss_b'] = losses['loss_b'] * float('nan')
        elif self.fault == 'inf_in_list':
            losses['loss_b'] = [losses['loss_b'], losses['loss_b'] + float('inf')]
        elif self.fault == 'nan_grad':  # value 0, gradient 0 * inf = nan
            w = self.linear.weight
            losses['loss_b'] = (w - w.detach()).abs().sqrt().sum()
        return losses


def build(wrapper: str = 'FiniteCheckOptimWrapper', **kwargs):
    torch.manual_seed(0)
    model = TwoTermModel()
    optim = build_optim_wrapper(model, dict(type=f'mmsemdenoise.{wrapper}',
                                            optimizer=dict(type='Adam', lr=0.1), **kwargs))
    return model, optim


def step(model, optim):
    return model.train_step(dict(inputs=torch.randn(4, 2)), optim)


def weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize('wrapper', ['FiniteCheckOptimWrapper', 'AutocastOptimWrapper'])
@pytest.mark.parametrize('fault, names', [('nan', 'loss_b=nan'), ('inf_in_list', 'loss_b=inf')])
def test_error_names_iteration_and_term_and_touches_nothing(wrapper, fault, names):
    model, optim = build(wrapper)
    step(model, optim)
    step(model, optim)
    before, adam = weights(model), copy.deepcopy(optim.optimizer.state_dict())
    model.fault = fault
    with pytest.raises(NonFiniteLossError) as error:
        step(model, optim)
    message = str(error.value)
    assert message.startswith(f'iteration 3: non-finite loss: {names} (finite: loss_a=')
    assert 'acc' not in message and 'weights, buffers and optimizer state are those after ' \
        'iteration 2' in message
    assert same(before, weights(model))  # parameters and batch-norm statistics
    state = optim.optimizer.state_dict()['state']
    assert all(int(s['step']) == 2 for s in state.values())  # Adam did not count a step
    assert all(torch.equal(s['exp_avg'], adam['state'][k]['exp_avg']) for k, s in state.items())


def test_non_finite_gradient_of_a_finite_loss_is_caught_before_the_step():
    model, optim = build()
    step(model, optim)
    before = weights(model)
    model.fault = 'nan_grad'
    with pytest.raises(NonFiniteLossError, match=r'iteration 2: finite loss \([0-9.]+\) but '
                       r'non-finite gradients of 1 parameters: linear.weight'):
        step(model, optim)
    assert same(before, weights(model))


def test_skip_mode_skips_only_the_bad_step_and_goes_on():
    model, optim = build(on_non_finite='skip', max_consecutive_skips=2)
    step(model, optim)
    before = weights(model)
    model.fault = 'nan'
    log = step(model, optim)  # iteration 2: skipped
    assert not np.isfinite(float(log['loss']))  # the log still shows what happened
    assert same(before, weights(model)) and optim.skipped_iters == [2]
    assert int(model.bn.num_batches_tracked) == 1
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())
    model.fault = None
    step(model, optim)  # iteration 3 trains again
    assert not same(before, weights(model)) and optim.inner_count == 3
    model.fault = 'nan_grad'
    step(model, optim)  # iteration 4: skipped; iteration 5 too, the second in a row: stop
    with pytest.raises(NonFiniteLossError, match=r'iteration 5: .*2 steps in a row .* diverged'):
        step(model, optim)
    assert optim.skipped_iters == [2, 4, 5]


def test_bad_option_is_named():
    with pytest.raises(ValueError, match="on_non_finite must be one of .* got 'ignore'"):
        build(on_non_finite='ignore')


# ---------------------------------------------------------------- a real training run
@MODELS.register_module(force=True)
class PoisonAtCallLoss(nn.Module):
    """MSE that returns ``value`` (NaN, Inf) at its ``at``-th call: one call per iteration."""

    def __init__(self, at: int, value: float = float('nan')) -> None:
        super().__init__()
        self.at, self.value, self.calls = at, value, 0

    def forward(self, pred, target):
        self.calls += 1
        loss = nn.functional.mse_loss(pred, target)
        return loss * self.value if self.calls == self.at else loss


@HOOKS.register_module(force=True)
class WeightSnapshotHook(Hook):
    """Copies of the denoiser's weights before and after every training iteration."""

    def __init__(self) -> None:
        self.before, self.after = {}, {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.before[runner.iter + 1] = weights(runner.model.denoiser)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.after[runner.iter + 1] = weights(runner.model.denoiser)


def run_config(repo_root: Path, tmp_path: Path, on_non_finite: str, value: float) -> Config:
    folder = tmp_path / 'images'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        cv2.imwrite(str(folder / f'{i}.png'), rng.integers(0, 256, (16, 16, 3), np.uint8))
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/default_runtime.py'))
    cfg.merge_from_dict(dict(
        work_dir=str(tmp_path / 'work'),
        # mmengine names the logger after the experiment ('<config>_<timestamp>', to the second):
        # without a name of its own, a Runner built in the same second as the last test's
        # would log into that test's file
        experiment_name=tmp_path.name,
        model=dict(type='DenoisingCascade',
                   denoiser=dict(type='ThreeScaleDenoiser', base_channels=8),
                   noise=dict(type='GaussianNoise', sigma=25),
                   loss=dict(type='JointLoss', rec_loss=dict(type='PoisonAtCallLoss', at=3,
                                                             value=value))),
        train_dataloader=dict(
            batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler'),
            dataset=dict(type='CleanImageFolder', data_prefix=dict(img_path=str(folder)),
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='mmpretrain.PackInputs')])),
        optim_wrapper=dict(type='AutocastOptimWrapper', on_non_finite=on_non_finite,
                           optimizer=dict(type='Adam', lr=1e-3)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=5, val_interval=100),
        custom_hooks=[dict(type='WeightSnapshotHook')],
        default_hooks=dict(logger=dict(interval=1), checkpoint=dict(interval=100))))
    return cfg


def snapshots(runner) -> WeightSnapshotHook:
    return next(h for h in runner.hooks if isinstance(h, WeightSnapshotHook))


@pytest.mark.slow
@pytest.mark.parametrize('value, shown', [(float('nan'), 'nan'), (float('inf'), 'inf')])
def test_training_stops_at_the_poisoned_iteration(repo_root, tmp_path, value, shown):
    runner = Runner.from_cfg(run_config(repo_root, tmp_path, 'error', value))
    with pytest.raises(NonFiniteLossError, match=f'iteration 3: non-finite loss: '
                       f'loss_rec={shown}'):
        runner.train()
    hook = snapshots(runner)
    assert sorted(hook.after) == [1, 2]  # iteration 3 never finished
    assert not same(hook.after[1], hook.after[2])  # training moved the weights
    assert same(hook.before[3], weights(runner.model.denoiser))  # the fault did not


@pytest.mark.slow
def test_training_skips_the_poisoned_iteration(repo_root, tmp_path):
    runner = Runner.from_cfg(run_config(repo_root, tmp_path, 'skip', float('nan')))
    runner.train()
    hook = snapshots(runner)
    assert sorted(hook.after) == [1, 2, 3, 4, 5]
    assert same(hook.before[3], hook.after[3])  # the skipped step
    assert all(not same(hook.before[i], hook.after[i]) for i in (1, 2, 4, 5))
    assert runner.optim_wrapper.skipped_iters == [3]
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'iteration 3: non-finite loss: loss_rec=nan; step skipped' in log
    assert 'skipped_steps: 1' in log  # in the Iter(train) lines from then on
