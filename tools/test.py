"""Evaluate a checkpoint with the config's test dataloader and metrics.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE] [--non-strict]
                         [--trust-checkpoint] [--cfg-options k=v ...] [--launcher pytorch]

The checkpoint must set every weight of the model (:mod:`mmsemdenoise.engine.checkpoint_fit`):
a cascade's task model (or denoiser) comes from the config's ``task_checkpoint``
(``denoiser_checkpoint``) when the checkpoint has none of its keys; keys still missing or of
another shape stop the run with their names before any data is loaded (``--non-strict``: a
warning, and they are evaluated as initialised). Checkpoints load with ``weights_only=True`` and
mmengine's allowlist; ``--trust-checkpoint`` lifts that for CHECKPOINT and the config's
``task_checkpoint`` / ``denoiser_checkpoint``. A stage-2 config whose ``denoiser_checkpoint``
(the stage-1 run, the source of the denoiser's architecture) is not on this machine takes the
architecture from CHECKPOINT (``meta['model_cfg']``, which every cascade run writes).

The robustness benchmark (noise corruptions x severities, P / mPC / rPC) or the Gaussian noise
sweep of a cascade checkpoint: ``--cfg-options test_cfg.type=RobustnessTestLoop`` (options of
:class:`mmsemdenoise.engine.RobustnessTestLoop` as ``test_cfg.<option>=...``).
"""
import argparse
import os.path as osp

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

import mmsemdenoise  # noqa: F401 (enables `mmsemdenoise::` configs and checkpoint loading)
from mmsemdenoise.engine.checkpoint_fit import (architecture_for_evaluation, checkpoint_state,
                                                fit_checkpoint)
from mmsemdenoise.utils import is_shipped_name
from mmsemdenoise.utils.cli import (KNOWN_ERRORS, add_common_args, add_trust_arg, fail,
                                    load_config, trust_run_checkpoints)
from mmsemdenoise.utils.dist import init_cpu_process_group
from mmsemdenoise.utils.weights import resolve_checkpoint


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='config file (path, or mmsemdenoise::folder/name.py)')
    parser.add_argument('checkpoint', help='checkpoint file, run work dir, URL or shipped name')
    parser.add_argument('--out', help='also dump the metrics to this JSON/YAML/pickle file')
    parser.add_argument('--non-strict', action='store_true',
                        help='evaluate even if the checkpoint leaves weights of the model unset '
                        '(they keep their initialisation; a warning names them)')
    add_trust_arg(parser)
    add_common_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    try:
        checkpoint = args.checkpoint
        if is_shipped_name(checkpoint) and '://' not in checkpoint:
            checkpoint = f'mmsemdenoise://{checkpoint}'
        if '://' not in checkpoint:
            if not osp.exists(checkpoint):
                raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
            checkpoint = resolve_checkpoint(checkpoint)
        cfg = load_config(args)
        cfg.load_from = checkpoint
        if args.trust_checkpoint:
            trust_run_checkpoints(cfg)
        link = (cfg.get('model') or {}).get('denoiser_checkpoint')
        taken = architecture_for_evaluation(cfg, checkpoint, trust=args.trust_checkpoint)
        state = checkpoint_state(checkpoint)
    except KNOWN_ERRORS as error:
        fail('test.py', error)
    init_cpu_process_group(cfg)
    runner = Runner.from_cfg(cfg)
    if taken is not None:
        runner.logger.info(f'model.denoiser_checkpoint {link} is not there: the denoiser is '
                           f'built with the architecture the checkpoint carries, {taken}')
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    try:
        fit_checkpoint(model, state, checkpoint, strict=not args.non_strict)
    except KNOWN_ERRORS as error:
        fail('test.py', error)
    del state  # the Runner loads the checkpoint itself
    metrics = runner.test()
    if args.out:
        from mmengine.fileio import dump
        dump(metrics, args.out)
    return metrics


if __name__ == '__main__':
    main()
