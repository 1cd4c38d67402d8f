"""The noise sweep and the corruption benchmark as an mmengine test loop.

``test_cfg = dict(type='RobustnessTestLoop', ...)`` makes ``tools/test.py CONFIG CKPT`` (and
``Runner.test()``) evaluate a :class:`~mmsemdenoise.models.cascade.DenoisingCascade` under several
noise settings and with several denoiser variants and write the report. By default one pass over
the dataloader feeds every (setting, variant) its own evaluator: each batch is loaded once, its
seeded noisy images are drawn once per setting, the task predictions on clean images (for
``predict_clean``) once per batch, and a variant whose task input equals another's (``clean`` and
``noisy`` at sigma 0) reuses its outputs; ``single_pass=False`` runs one mmengine test epoch per
(setting, variant) instead (the same tables). The dataloader's sampler splits the images over
processes (``--launcher pytorch``) and each evaluator's ``evaluate`` collects them, so the tables
of one and of several processes are the same. Denoisers and test noise are exchanged through the
cascade's public :meth:`~DenoisingCascade.swapped`; every variant sees the same seeded noisy images.
"""
import copy
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.dist import all_gather_object, is_main_process
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, autocast

from mmsemdenoise.analysis.examples import Example, example_of
from mmsemdenoise.analysis.formatting import scalars
from mmsemdenoise.analysis.robustness_report import (corruptions_in_mpc, summarize,
                                                     write_robustness_report)
from mmsemdenoise.analysis.sweep_report import write_report
from mmsemdenoise.datasets.verify import format_bad_files, skipped_files
from mmsemdenoise.models.cascade import DenoisingCascade
from mmsemdenoise.models.denoisers.architecture import carried_architecture
from mmsemdenoise.models.denoisers.classical import ClassicalDenoiser
from mmsemdenoise.models.denoisers.loading import load_denoiser
from mmsemdenoise.models.noise import NOISE_CORRUPTIONS
from mmsemdenoise.registry import LOOPS
from .skipped_files_hook import SKIPPED_KEY
from .sweep_config import check_sigmas, check_variant


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
        progress (bool): A progress bar (main process): over the batches of the single pass,
            or over the runs. Defaults to False.
        fp16 (bool): Run the model under autocast. Defaults to False.
        single_pass (bool): One pass over the dataloader for every run (see the module); False:
            one test epoch per run (slower; for checking). Defaults to True.
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
                 single_pass: bool = True,
                 inference_dtype: Optional[str] = None,
                 denoiser: Optional[dict] = None) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self._evaluator_cfg = evaluator
        self.single_pass = single_pass
        if inference_dtype is not None and not isinstance(
                getattr(torch, str(inference_dtype), None), torch.dtype):
            raise ValueError(f'test_cfg.inference_dtype must name a torch dtype, e.g. '
                             f"'bfloat16', got {inference_dtype!r}")
        self.inference_dtype = None if inference_dtype is None else getattr(torch, inference_dtype)
        if sigmas is None and corruptions is None:
            corruptions = list(NOISE_CORRUPTIONS)
        if sigmas is not None:
            check_sigmas(sigmas, 'test_cfg.sigmas')
        self.sigmas = [float(s) for s in sigmas or []]
        self.corruptions = list(corruptions or [])
        unknown = [c for c in self.corruptions if c not in NOISE_CORRUPTIONS]
        if unknown:
            raise ValueError(f'test_cfg.corruptions: unknown {unknown}; '
                             f'known: {list(NOISE_CORRUPTIONS)}')
        self.severities = [int(s) for s in severities]
        if not self.severities or not set(self.severities) <= {1, 2, 3, 4, 5}:
            raise ValueError(f'test_cfg.severities must lie in 1..5, got {list(severities)}')
        corruptions_in_mpc(self.corruptions, aggregate)  # checks `aggregate`
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
        """Evaluate every run; write the report on the main process; return flat metrics."""
        self.runner.call_hook('before_test')
        self.runner.model.eval()
        if self.load_task_checkpoint:
            self.cascade.load_task_weights()
        runs = self._runs()
        show = self.progress and is_main_process()
        if show:
            from tqdm import tqdm
            # one pass: the bar advances per batch (it stood at 0 until the whole pass ended)
            bar = tqdm(total=len(self.dataloader) if self.single_pass else len(runs),
                       desc='robustness', unit='batch' if self.single_pass else 'run')
        if self.single_pass:
            results = self._evaluate_all(runs, bar if show else None)
        else:
            results = []
            for run in runs:
                results.append(self._evaluate_run(*run))
                if show:
                    bar.set_postfix(variant=run[0], noise=f'{run[1]} {run[2]}')
                    bar.update()
        if show:
            bar.close()
        flat = self._report(results) if is_main_process() else {}
        self.runner.call_hook('after_test')
        return flat

    def _evaluate_run(self, name: str, family: str, level, noise: Optional[dict]) -> tuple:
        """One test epoch of one (variant, noise): the report's ``(name, family, level,
        metrics, examples)``."""
        print_log(f'robustness run: variant {name}, noise {family} {level}', logger='current')
        with self.cascade.swapped(denoiser=self.denoisers.get(name), test_noise=noise):
            metrics, examples, counts = self._evaluate(self._wants_examples(family, level))
        # how the sampler split the images: [n] in one process, [n/2, n/2] in two
        print_log(f'robustness run: images evaluated per process {counts} of '
                  f'{len(self.dataloader.dataset)}', logger='current')
        return name, family, level, scalars(metrics), examples

    def _new_evaluator(self):
        """An evaluator of the config's metrics with its own (empty) state."""
        if isinstance(self._evaluator_cfg, (dict, list)):
            evaluator = self.runner.build_evaluator(copy.deepcopy(self._evaluator_cfg))
        else:
            evaluator = copy.deepcopy(self.evaluator)
        if hasattr(self.dataloader.dataset, 'metainfo'):
            evaluator.dataset_meta = self.dataloader.dataset.metainfo
        return evaluator

    def _evaluate_all(self, runs: List[tuple], bar=None) -> list:
        """Every run in one pass over the dataloader, each with its own evaluator."""
        evaluators = [self._new_evaluator() for _ in runs]
        examples: List[List[Example]] = [[] for _ in runs]
        noises = {}  # noise config -> module, built once
        for _, _, _, noise in runs:
            key = repr(noise)
            if key not in noises:
                with self.cascade.swapped(test_noise=noise) as cascade:
                    noises[key] = cascade.test_noise
        self.runner.call_hook('before_test_epoch')
        evaluated = 0
        for idx, data_batch in enumerate(self.dataloader):
            self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
            outputs = self._run_batch(runs, noises, data_batch)
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
        counts = all_gather_object(evaluated)
        results = []
        for (name, family, level, _), evaluator, kept in zip(runs, evaluators, examples):
            print_log(f'robustness run: variant {name}, noise {family} {level}; images '
                      f'evaluated per process {counts} of {len(self.dataloader.dataset)}',
                      logger='current')
            metrics = evaluator.evaluate(len(self.dataloader.dataset))
            self.runner.call_hook('after_test_epoch', metrics=metrics)
            metrics.pop(SKIPPED_KEY, None)
            if self._wants_examples(family, level):
                kept = _gather_examples(kept, self.num_examples)
            results.append((name, family, level, scalars(metrics), kept))
        return results

    @torch.no_grad()
    def _run_batch(self, runs: List[tuple], noises: dict, data_batch) -> List[list]:
        """The outputs of every run on one batch (what ``test_step`` would give each)."""
        with autocast(enabled=self.fp16):  # the cascade's: a DDP wrapper has no preprocessor
            data = self.cascade.data_preprocessor(data_batch, False)
        inputs, samples = data['inputs'], data.get('data_samples')
        if isinstance(inputs, list):  # sizes differ: one image at a time
            per_image = [self._run_images(runs, noises, img[None],
                                          None if samples is None else [samples[i]])
                         for i, img in enumerate(inputs)]
            return [[out for image in per_image for out in image[r]] for r in range(len(runs))]
        return self._run_images(runs, noises, inputs, samples)

    def _run_images(self, runs: List[tuple], noises: dict, inputs: torch.Tensor,
                    samples: Optional[list]) -> List[list]:
        cascade = self.cascade
        noisy = {}  # noise -> (noisy, level), drawn once per batch
        references = None
        if cascade.predict_clean and cascade.task_model is not None:
            with autocast(enabled=self.fp16):
                references = cascade.clean_predictions(inputs, samples)
        done: List[tuple] = []  # (noisy, denoised, outputs) of earlier runs
        outputs = []
        for name, _, _, noise in runs:
            key = repr(noise)
            with cascade.swapped(denoiser=self.denoisers.get(name), test_noise=noises[key]):
                if key not in noisy:
                    noisy[key] = cascade.test_noisy(inputs, samples)
                images, level = noisy[key]
                with autocast(enabled=self.fp16):
                    denoised = self._denoise(images, level)
                    same = next((out for n, d, out in done if d.shape == denoised.shape
                                 and torch.equal(n, images) and torch.equal(d, denoised)), None)
                    if same is None:
                        out = cascade.predict_denoised(inputs, images, denoised,
                                                       copy.deepcopy(samples), references)
                        done.append((images, denoised, out))
                    else:  # the same task input as an earlier run: the same outputs
                        out = copy.deepcopy(same)
            outputs.append(out)
        return outputs

    def _denoise(self, noisy: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """The current denoiser, under autocast to ``inference_dtype`` if set (learned ones)."""
        denoiser = self.cascade.denoiser
        if self.inference_dtype is None or denoiser is None or isinstance(
                denoiser, ClassicalDenoiser):
            return self.cascade.denoise(noisy, level)
        with torch.autocast(device_type=noisy.device.type, dtype=self.inference_dtype):
            return self.cascade.denoise(noisy, level).float()

    def _evaluate(self, keep_examples: bool) -> tuple:
        """One test epoch: metrics, (gathered over processes) the first example images and the
        number of images each process evaluated (by rank; padding of the sampler included)."""
        self.runner.call_hook('before_test_epoch')
        examples: List[Example] = []
        evaluated = 0
        for idx, data_batch in enumerate(self.dataloader):
            outputs = self._run_iter(idx, data_batch)
            evaluated += len(outputs)
            if keep_examples:
                examples += [example_of(sample) for sample in outputs
                             if len(examples) < self.num_examples]
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        metrics.pop(SKIPPED_KEY, None)  # reported once for all runs, not as a table column
        if keep_examples:
            examples = _gather_examples(examples, self.num_examples)
        return metrics, examples, all_gather_object(evaluated)

    @torch.no_grad()
    def _run_iter(self, idx: int, data_batch) -> list:
        self.runner.call_hook('before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.test_step(data_batch)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook('after_test_iter', batch_idx=idx, data_batch=data_batch,
                              outputs=outputs)
        return outputs

    def _report(self, results: list) -> Dict[str, float]:
        """Write the report files and log the tables; the flat metrics for ``Runner.test``."""
        os.makedirs(self.out_dir, exist_ok=True)
        metainfo = dict(getattr(self.dataloader.dataset, 'metainfo', {}) or {})
        flat: Dict[str, float] = {}
        texts = []
        if self.sigmas:
            rows, grids = [], {s: {} for s in self.sigmas}
            for name, family, level, metrics, examples in results:
                if family != 'gaussian':
                    continue
                for sigma in (self.sigmas if level is None else [level]):  # clean: every sigma
                    rows.append(dict(variant=name, sigma=sigma, **metrics))
                    grids[sigma][name] = examples
                    flat.update({f'{name}/sigma{sigma:g}/{k}': v for k, v in metrics.items()})
            order = ['clean', *self.denoisers]
            rows.sort(key=lambda r: (order.index(r['variant']), self.sigmas.index(r['sigma'])))
            texts.append(write_report(rows, grids, metainfo, self.out_dir))
        if self.corruptions:
            rows, grids = [], {}
            for name, family, level, metrics, examples in results:
                if family == 'gaussian':
                    continue
                rows.append(dict(variant=name, noise=family, severity=level, **metrics))
                flat.update({f'{name}/{family}/{level}/{k}': v for k, v in metrics.items()})
                if family != 'clean' and level in self.example_severities:
                    grids.setdefault(family, {}).setdefault(level, {})[name] = examples
            clean = next(ex for n, f, _, _, ex in results if f == 'clean' and n == 'noisy')
            for by_severity in grids.values():
                for by_variant in by_severity.values():
                    by_variant['clean'] = clean
            texts.append(write_robustness_report(
                rows, grids, metainfo, self.out_dir, self.corruptions, self.severities,
                self.aggregate, self.metric))
            for name, by_metric in summarize(rows, self.corruptions, self.severities,
                                             self.aggregate).items():
                for metric, figures in by_metric.items():
                    flat.update({f'{name}/{k}/{metric}': v for k, v in figures.items()})
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

