"""The noise sweep and the corruption benchmark as an mmengine test loop.

``test_cfg = dict(type='RobustnessTestLoop', ...)`` makes ``tools/test.py CONFIG CKPT`` (and
``Runner.test()``) evaluate a :class:`~mmsemdenoise.models.cascade.DenoisingCascade` under several
noise settings and with several denoiser variants and write the report. The loop is thin: it lists
the runs (variant, noise) in report order, and for each batch of one pass over the dataloader the
model's :meth:`~DenoisingCascade.predict_settings` returns every run's predictions (each noise
drawn once with the per-image seeds, the clean predictions made once, each denoiser run once),
which feed one evaluator per run. The dataloader's sampler splits the images over processes
(``--launcher pytorch``) and each evaluator's ``evaluate`` collects them, so the tables of one and
of several processes are the same.
"""
import copy
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from mmengine.dist import all_gather_object, is_main_process
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, autocast

from mmsemdenoise.analysis.examples import Example, example_of
from mmsemdenoise.analysis.formatting import scalars
from mmsemdenoise.analysis.benchmark_report import write_benchmark_reports
from mmsemdenoise.datasets.verify import format_bad_files, skipped_files
from mmsemdenoise.models.cascade import DenoisingCascade
from mmsemdenoise.models.denoisers.architecture import carried_architecture
from mmsemdenoise.models.denoisers.classical import ClassicalDenoiser
from mmsemdenoise.models.denoisers.loading import load_denoiser
from mmsemdenoise.registry import LOOPS, MODELS
from .skipped_files_hook import SKIPPED_KEY
from .sweep_config import check_inference_dtype, check_noise_settings, check_variant


@LOOPS.register_module()
class RobustnessTestLoop(TestLoop):
    """Evaluate every (noise setting, denoiser variant) and write the benchmark report.

    Noise settings: Gaussian noise of each sigma in ``sigmas`` (the noise sweep: ``sweep.md``,
    ``sweep.csv``, ``sweep_<metric>.png``, ``examples_sigma<s>.png``, plus a ``clean`` row), and/or
    each of ``corruptions`` at each of ``severities`` plus clean images (the corruption benchmark:
    P / mPC / rPC, ``robustness.{md,csv,json}``, ``robustness_<corruption>.png``,
    ``examples_<corruption>_severity<s>.png``). With neither, the four noise corruptions of
    :data:`~mmsemdenoise.models.noise.NOISE_CORRUPTIONS` at severities 1-5.

    Variants, in this order: ``noisy`` (no denoiser), the classical baseline if any, the model's
    own denoiser (the one the runner loaded, e.g. from ``tools/test.py CONFIG CKPT``) as
    ``checkpoint_variant``, then ``variants``.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The test dataloader.
        evaluator (Evaluator | dict | list): The test evaluator.
        sigmas (Sequence[float], optional): Gaussian noise levels (0-255 scale). Defaults to None.
        corruptions (Sequence[str], optional): Noise corruptions. Defaults to None.
        severities (Sequence[int]): Corruption severities. Defaults to (1, 2, 3, 4, 5).
        variants (dict, optional): ``name -> checkpoint`` (path, work dir, URL or
            ``mmsemdenoise://`` name), each built with the architecture its checkpoint carries
            and loaded by :func:`~mmsemdenoise.apis.load_denoiser`. Defaults to None.
        denoiser (dict, optional): The architecture of a variant whose checkpoint carries none
            (e.g. a bare state dict). Defaults to the config's ``model.denoiser``.
        checkpoint_variant (str, optional): Name of the model's own denoiser; None leaves it out.
            Defaults to 'model'.
        classical (str, optional): ``'nlm'`` or ``'bm3d'`` baseline (told the noise level the
            noise model reports), or None. Defaults to None.
        load_task_checkpoint (bool): Load the task model from ``model.task_checkpoint`` first
            (when the runner loads no full cascade checkpoint). Defaults to False.
        aggregate (str): Which corruptions mPC averages: ``'benchmark'`` or ``'all'``, see
            :mod:`~mmsemdenoise.analysis.robustness_report`. Defaults to 'benchmark'.
        metric (str, optional): The benchmark's main metric. Defaults to mIoU / top-1 / first.
        num_examples (int): Images per example grid. Defaults to 3.
        example_severities (Sequence[int]): Severities that get example grids. Defaults to (3,).
        out_dir (str, optional): Report folder. Defaults to ``<log_dir>/robustness``.
        progress (bool): A progress bar over the batches (main process). Defaults to False.
        fp16 (bool): Run the model under autocast. Defaults to False.
        inference_dtype (str, optional): Run the learned denoisers under autocast to this dtype,
            e.g. ``'bfloat16'`` (fast where the device has native bfloat16; PSNR moves by
            < 0.01 dB), with the task model in float32. Defaults to None (float32).
    """

    def __init__(self,
                 runner,
                 dataloader,
                 evaluator,
                 sigmas: Optional[Sequence[float]] = None,
                 corruptions: Optional[Sequence[str]] = None,
                 severities: Sequence[int] = (1, 2, 3, 4, 5),
                 variants: Optional[Dict[str, str]] = None,
                 checkpoint_variant: Optional[str] = 'model',
                 classical: Optional[str] = None,
                 load_task_checkpoint: bool = False,
                 aggregate: str = 'benchmark',
                 metric: Optional[str] = None,
                 num_examples: int = 3,
                 example_severities: Sequence[int] = (3, ),
                 out_dir: Optional[str] = None,
                 progress: bool = False,
                 fp16: bool = False,
                 inference_dtype: Optional[str] = None,
                 denoiser: Optional[dict] = None) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self._evaluator_cfg = evaluator
        self.inference_dtype = check_inference_dtype(inference_dtype)
        self.sigmas, self.corruptions, self.severities = check_noise_settings(
            sigmas, corruptions, severities, aggregate)
        self.aggregate, self.metric = aggregate, metric
        self.num_examples = num_examples
        self.example_severities = [s for s in example_severities if s in self.severities]
        self.out_dir = out_dir or osp.join(runner.log_dir, 'robustness')
        self.progress = progress
        self.load_task_checkpoint = load_task_checkpoint
        self.cascade = self._cascade(runner)
        if denoiser is None:
            denoiser = (runner.cfg.get('model') or {}).get('denoiser')
        self.denoisers = self._build_variants(variants or {}, checkpoint_variant, classical,
                                              denoiser)

    @staticmethod
    def _cascade(runner) -> DenoisingCascade:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not isinstance(model, DenoisingCascade):
            raise TypeError(f'RobustnessTestLoop needs a DenoisingCascade model, got '
                            f'{type(model).__name__} (config model.type)')
        return model

    def _build_variants(self, variants: Dict[str, str], checkpoint_variant: Optional[str],
                        classical: Optional[str],
                        fallback: Optional[dict]) -> Dict[str, Optional[nn.Module]]:
        """Name -> denoiser (``noisy`` -> None), every file checked before anything runs."""
        denoisers: Dict[str, Optional[nn.Module]] = {'noisy': None}

        def add(name: str, denoiser: Optional[nn.Module]) -> None:
            check_variant(name, None, taken=list(denoisers))
            denoisers[name] = denoiser

        if classical not in (None, 'none'):
            add(classical, ClassicalDenoiser(classical).eval())
        if checkpoint_variant and self.cascade.denoiser is not None:
            add(checkpoint_variant, self.cascade.denoiser)
        for name, checkpoint in variants.items():
            if not isinstance(checkpoint, str):
                raise TypeError(f'test_cfg.variants: {name!r} must name a checkpoint (it '
                                f'carries its architecture), got {checkpoint!r}')
            check_variant(name, checkpoint, taken=list(denoisers))  # before loading
            architecture = carried_architecture(checkpoint) or (
                None if fallback is None else dict(fallback))
            try:
                denoisers[name] = load_denoiser(architecture, checkpoint)
            except ValueError as error:
                raise ValueError(f'variant {name!r}: {error}') from None
        return denoisers

    def _runs(self) -> List[tuple]:
        """``(variant, family, level, noise config or None)`` in report order."""
        runs = []
        if self.sigmas:
            runs.append(('clean', 'gaussian', None, None))
            runs += [(name, 'gaussian', s, dict(type='GaussianNoise', sigma=s))
                     for s in self.sigmas for name in self.denoisers]
        for name in self.denoisers if self.corruptions else []:
            runs.append((name, 'clean', 0, None))
            runs += [(name, c, s, dict(type='CorruptionNoise', corruption=c, severity=s))
                     for c in self.corruptions for s in self.severities]
        return runs

    def _wants_examples(self, family: str, level) -> bool:
        if family == 'gaussian':
            return True
        return family == 'clean' or level in self.example_severities

    def run(self) -> dict:
        """One pass over the dataloader, every run at each batch, each run its own evaluator;
        write the report on the main process; return the flat metrics."""
        self.runner.call_hook('before_test')
        self.runner.model.eval()
        if self.load_task_checkpoint:
            self.cascade.load_task_weights()
        runs = self._runs()
        noises = {}  # noise config -> module, built once
        for _, _, _, noise in runs:
            if repr(noise) not in noises:
                noises[repr(noise)] = None if noise is None else MODELS.build(noise)
        settings = [(noises[repr(noise)], self.denoisers.get(name))
                    for name, _, _, noise in runs]
        evaluators = [self._new_evaluator() for _ in runs]
        examples: List[List[Example]] = [[] for _ in runs]
        bar = None
        if self.progress and is_main_process():
            from tqdm import tqdm
            bar = tqdm(total=len(self.dataloader), desc='robustness', unit='batch')
        self.runner.call_hook('before_test_epoch')
        evaluated = 0
        for idx, data_batch in enumerate(self.dataloader):
            self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
            with autocast(enabled=self.fp16):
                outputs = self.cascade.predict_settings(data_batch, settings,
                                                        self.inference_dtype)
            for i, (evaluator, run_outputs) in enumerate(zip(evaluators, outputs)):
                evaluator.process(data_samples=run_outputs, data_batch=data_batch)
                if self._wants_examples(runs[i][1], runs[i][2]):
                    examples[i] += [example_of(sample) for sample in run_outputs
                                    if len(examples[i]) < self.num_examples]
            evaluated += len(outputs[0])
            self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=data_batch,
                                  outputs=outputs[-1])
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()
        results = self._evaluate(runs, evaluators, examples, all_gather_object(evaluated))
        flat = self._report(results) if is_main_process() else {}
        self.runner.call_hook('after_test')
        return flat

    def _new_evaluator(self):
        """An evaluator of the config's metrics with its own (empty) state."""
        if isinstance(self._evaluator_cfg, (dict, list)):
            evaluator = self.runner.build_evaluator(copy.deepcopy(self._evaluator_cfg))
        else:
            evaluator = copy.deepcopy(self.evaluator)
        if hasattr(self.dataloader.dataset, 'metainfo'):
            evaluator.dataset_meta = self.dataloader.dataset.metainfo
        return evaluator

    def _evaluate(self, runs: List[tuple], evaluators: list, examples: List[List[Example]],
                  counts: List[int]) -> list:
        """Each run's metrics (collected over processes) and first examples: the report's
        ``(name, family, level, metrics, examples)``. ``counts``: images evaluated by each
        process (padding of the sampler included)."""
        results = []
        for (name, family, level, _), evaluator, kept in zip(runs, evaluators, examples):
            print_log(f'robustness run: variant {name}, noise {family} {level}; images '
                      f'evaluated per process {counts} of {len(self.dataloader.dataset)}',
                      logger='current')
            metrics = evaluator.evaluate(len(self.dataloader.dataset))
            self.runner.call_hook('after_test_epoch', metrics=metrics)
            metrics.pop(SKIPPED_KEY, None)  # reported once for all runs, not as a column
            if self._wants_examples(family, level):
                kept = _gather_examples(kept, self.num_examples)
            results.append((name, family, level, scalars(metrics), kept))
        return results

    def _report(self, results: list) -> Dict[str, float]:
        """Write the report files and log the tables; the flat metrics for ``Runner.test``."""
        os.makedirs(self.out_dir, exist_ok=True)
        metainfo = dict(getattr(self.dataloader.dataset, 'metainfo', {}) or {})
        flat, texts = write_benchmark_reports(
            results, list(self.denoisers), self.sigmas, self.corruptions, self.severities,
            self.example_severities, self.aggregate, self.metric, metainfo, self.out_dir)
        skipped = skipped_files(self.dataloader.dataset)
        flat[SKIPPED_KEY] = len(skipped)
        if skipped:
            with open(osp.join(self.out_dir, 'skipped_files.txt'), 'w') as f:
                f.write(format_bad_files(skipped) + '\n')
            texts.append(f'{len(skipped)} unreadable file(s) of the test set were skipped '
                         f'(on_bad_file=\'skip\'); every figure above leaves them out '
                         f'(skipped_files.txt):\n{format_bad_files(skipped)}')
        print_log('\n\n'.join(texts) + f'\n\nwritten to {self.out_dir}', logger='current')
        return flat


def _gather_examples(examples: List[Example], num: int) -> List[Example]:
    """The first ``num`` examples over all processes (round-robin over ranks = dataset order
    under the DefaultSampler)."""
    per_rank = all_gather_object(examples)
    return [ex for group in _zip_longest(per_rank) for ex in group][:num]


def _zip_longest(groups: Sequence[list]) -> List[list]:
    """``[[a0, b0], [a1, b1], ...]`` from ``[[a0, a1, ...], [b0, b1, ...]]`` (ragged ends)."""
    longest = max((len(g) for g in groups), default=0)
    return [[g[i] for g in groups if i < len(g)] for i in range(longest)]

