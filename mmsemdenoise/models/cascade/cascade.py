"""The cascade: noisy image -> denoiser -> frozen task model, trained with the joint loss.

The whole data flow of the plugin reads top to bottom in :meth:`DenoisingCascade.loss`:

    clean    = PixelPreprocessor(batch)             (N, 3, H, W) float RGB in [0, 1]
                                                    (ImageBatch: groups of one size)
    noisy    = noise(clean)                         same, plus noise level (N,) in sigma/255
    denoised = denoiser(noisy, level)               same, not clamped
    task_in  = task_model.data_preprocessor(...)    the task's own mean/std, channel order, padding
    losses   = joint_loss(denoised, clean, task_model.loss(task_in))

Without a task model (or with ``task_weight=0``) it is stage-1 denoiser training.
"""
import contextlib
import copy
import warnings
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from mmsemdenoise.registry import MODELS
from mmsemdenoise.structures import ImageBatch, Images
from mmsemdenoise.utils.weights import load_weights
from ..denoisers.architecture import portable_architecture, resolve_architecture
from ..denoisers.classical import ClassicalDenoiser
from ..losses import distillation_loss
from .flow import add_noise, denoise, image_seeds, to_task_batch
from .frozen_task import freeze

ModuleCfg = Union[dict, nn.Module, None]
TASK_TARGETS = ('labels', 'clean_prediction')
#: Default of :meth:`DenoisingCascade.swapped`: leave that part as it is.
KEEP = object()
#: One setting of :meth:`DenoisingCascade.predict_settings`: (test noise, denoiser).
Setting = Tuple[Optional[nn.Module], Optional[nn.Module]]


def _build(cfg: ModuleCfg) -> Optional[nn.Module]:
    return MODELS.build(cfg) if isinstance(cfg, dict) else cfg


def _check_own_preprocessor(cfg: Union[dict, nn.Module]) -> None:
    """Refuse a task library's data preprocessor as the cascade's own, with the likely cause:
    mmengine's Runner gives a config's top-level ``data_preprocessor`` (mmseg and mmpretrain
    configs define one) to a model that names none."""
    kind = cfg.get('type') if isinstance(cfg, dict) else None
    if isinstance(kind, str) and MODELS.get(kind) is None:
        raise ValueError(
            f"DenoisingCascade: data_preprocessor type {kind!r} is not one of the cascade's "
            "(it takes BGR pixels: PixelPreprocessor). It is probably the top-level "
            "`data_preprocessor` of an inherited mmseg/mmpretrain config, which mmengine's "
            "Runner gives to a model without one: set model.data_preprocessor=dict("
            "type='PixelPreprocessor', bgr_to_rgb=True) (as _base_/models/denoising_cascade.py "
            "does) and pass the task's own as task_model.data_preprocessor or "
            "task_data_preprocessor")


@MODELS.register_module()
class DenoisingCascade(BaseModel):
    """A trainable denoiser in front of an optional frozen mmseg/mmpretrain task model.

    Args:
        denoiser (dict | nn.Module | None): The denoiser. ``None`` with a
            ``denoiser_checkpoint``: built with the architecture the checkpoint carries
            (a shipped name's metafile config, a converter's ``meta['model_cfg']``, or the
            run's config in ``meta['cfg']``); a config with one: checked against it (a
            contradiction raises, naming both) and built before the file exists; ``None``
            without a checkpoint passes the noisy image through (the "noisy input" baseline).
            Defaults to None.
        noise (dict | nn.Module | None): Noise added to the clean images in training; ``None``
            adds none. Defaults to None.
        test_noise (dict | nn.Module | None): Noise at validation/test, drawn per image from a
            seed derived from the image's id and ``eval_seed``, so every method and every run
            sees the same noisy images. Defaults to ``noise``; ``dict(type='GaussianNoise',
            sigma=0)`` evaluates clean inputs.
        task_model (dict | BaseModel | None): The recognition model, e.g. an unmodified mmseg
            ``model`` config (keep its ``_scope_``). It is frozen: no gradients for its weights,
            always in eval mode. ``None`` gives stage-1 (denoiser-only) training.
        task_data_preprocessor (dict, optional): The task model's data preprocessor, for
            upstream configs that keep it outside ``model`` (mmpretrain's top-level
            ``data_preprocessor``, which its Runner merges into the model). Used only when
            ``task_model`` has none. Defaults to None.
        denoiser_checkpoint (str, optional): The denoiser's weights and architecture: a
            stage-1 (or any cascade) checkpoint or its run's work dir, whose ``denoiser.*`` keys
            are taken, a bare denoiser checkpoint, or a shipped name
            (``mmsemdenoise://three-scale_blind_bsd400``). Loaded strictly by
            :meth:`init_weights` (when the Runner starts training). Defaults to None (the
            denoiser's own ``init_cfg``).
        task_checkpoint (str, optional): Local path, URL or shipped name of the task model's
            weights, loaded by :meth:`init_weights`. Defaults to None.
        task_checkpoint_strict (bool): Raise on missing/unexpected/mis-shaped task keys instead
            of warning. Defaults to True.
        loss (dict | nn.Module): The :class:`JointLoss`. Defaults to MSE only.
        task_target (str): ``'labels'`` uses the task model's own losses on the dataset's
            annotations; ``'clean_prediction'`` (label-free) uses the KL divergence between the
            task model's outputs on the denoised and on the clean image. Defaults to 'labels'.
        distill_temperature (float): Softmax temperature of the label-free loss. Defaults to 1.
        eval_seed (int): Base seed of the per-image test noise. Defaults to 0.
        train_noise_seed (int, optional): Draw each training image's noise from its own
            generator, seeded from the image's id, the iteration (``'iter'`` in mmengine's
            ``MessageHub``, set by the Runner) and this seed, instead of from the global
            generator. An image's noise then does not depend on the process or batch position
            it lands in: N processes x batch b train as 1 process x batch N*b (with a denoiser
            without batch norm). An image twice in one batch gets the same noise twice.
            Defaults to None (the global generator).
        predict_clean (bool): At validation/test also run the task model on the CLEAN image and
            keep its prediction as ``clean_prediction`` in each result, for
            :class:`~mmsemdenoise.evaluation.CleanAgreement` (label-free evaluation: how often the
            decision on the denoised noisy image equals the one on the clean image). Costs one
            more task forward per batch. Defaults to False.
        channels_last (bool): Run the denoiser in the channels-last memory format (NHWC). Same
            numbers; ~1.2x faster training of the paper's network on this CPU (oneDNN), and the
            layout tensor cores prefer under AMP. Defaults to True.
        task_float32 (bool): Under autocast (``AutocastOptimWrapper``, AMP), run the frozen task
            model's forward and its input-gradient backward in float32 on the denoised image
            cast to float32; only the denoiser runs in the low precision. The task gradient is
            then exact but for the rounding of the denoised image, and a small task model
            (Fast-SCNN) is faster in float32 on a CPU than under bfloat16 (see
            docs/benchmarks.md). No effect without autocast. Defaults to False.
        data_preprocessor (dict, optional): Defaults to :class:`PixelPreprocessor` (BGR input).
        init_cfg (dict, optional): Initialisation of the cascade. Defaults to None.
    """

    def __init__(self,
                 denoiser: ModuleCfg = None,
                 noise: ModuleCfg = None,
                 test_noise: ModuleCfg = None,
                 task_model: ModuleCfg = None,
                 task_data_preprocessor: Optional[dict] = None,
                 denoiser_checkpoint: Optional[str] = None,
                 task_checkpoint: Optional[str] = None,
                 task_checkpoint_strict: bool = True,
                 loss: ModuleCfg = None,
                 task_target: str = 'labels',
                 distill_temperature: float = 1.0,
                 eval_seed: int = 0,
                 train_noise_seed: Optional[int] = None,
                 predict_clean: bool = False,
                 channels_last: bool = True,
                 task_float32: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='PixelPreprocessor')
        _check_own_preprocessor(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if task_target not in TASK_TARGETS:
            raise ValueError(f'task_target must be one of {TASK_TARGETS}, got {task_target!r}')
        if denoiser_checkpoint and not isinstance(denoiser, nn.Module):
            denoiser = resolve_architecture(denoiser, denoiser_checkpoint,
                                            owner='DenoisingCascade')
        #: The config the denoiser was built from (resolved from ``denoiser_checkpoint`` if
        #: not declared), plain, for ``meta['model_cfg']`` of the checkpoints a run writes
        #: (:class:`~mmsemdenoise.engine.DenoiserArchitectureHook`); None for a module.
        self.denoiser_cfg = portable_architecture(denoiser) if isinstance(denoiser, dict) \
            else None
        self.denoiser = _build(denoiser)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if self.denoiser is not None:
            self.denoiser.to(memory_format=self.memory_format)
        self.noise = _build(noise)
        self.test_noise = self.noise if test_noise is None else _build(test_noise)
        if isinstance(task_model, dict) and task_data_preprocessor is not None:
            task_model = dict(task_model)
            task_model.setdefault('data_preprocessor', task_data_preprocessor)
        self.task_model = _build(task_model)
        if self.task_model is not None:
            freeze(self.task_model)
        self.denoiser_checkpoint = denoiser_checkpoint
        self.task_checkpoint = task_checkpoint
        self.task_checkpoint_strict = task_checkpoint_strict
        self.joint_loss = _build(dict(type='JointLoss') if loss is None else loss)
        self.task_target = task_target
        self.distill_temperature = distill_temperature
        self.eval_seed = eval_seed
        self.train_noise_seed = train_noise_seed
        self.predict_clean = predict_clean
        self.task_float32 = task_float32

    # ---------------------------------------------------------------- set-up
    def init_weights(self) -> None:
        """Load the denoiser (``denoiser_checkpoint``, else its ``init_cfg``) and the frozen
        task model (``task_checkpoint``).

        The task model's own ``init_weights`` is never called: its weights come from
        ``task_checkpoint``, not from its config's ImageNet initialisation.
        """
        if self.denoiser is not None:
            if self.denoiser_checkpoint:
                load_weights(self.denoiser, self.denoiser_checkpoint, prefix='denoiser.',
                             name='denoiser')
            elif hasattr(self.denoiser, 'init_weights'):
                self.denoiser.init_weights()
        if self.task_model is not None:
            if self.task_checkpoint:
                self.load_task_weights()
            else:
                warnings.warn('DenoisingCascade: no task_checkpoint, the frozen task model '
                              'keeps the weights it was built with')
                freeze(self.task_model)
        self._is_init = True

    def load_task_weights(self) -> None:
        """Load ``task_checkpoint`` into the frozen task model (nothing without either)."""
        if self.task_model is None or not self.task_checkpoint:
            return
        load_weights(self.task_model, self.task_checkpoint, strict=self.task_checkpoint_strict,
                     name='frozen task model')
        freeze(self.task_model)

    @contextlib.contextmanager
    def swapped(self, denoiser=KEEP, test_noise=KEEP) -> Iterator['DenoisingCascade']:
        """Evaluate with another denoiser and/or test noise; the old ones come back afterwards.

        The public way to compare denoisers and noises on one cascade (the noise sweep's loop
        uses it): nothing outside the model assigns its attributes.

        Args:
            denoiser (nn.Module | None): A denoiser module (moved to the cascade's device and
                memory format), or None for no denoiser (the noisy input goes straight to the
                task model). Defaults to keeping the current one.
            test_noise (dict | nn.Module | None): The noise of validation/test (a config is
                built), or None for clean inputs. Defaults to keeping the current one.

        Yields:
            DenoisingCascade: The cascade itself.

        Example:
            >>> with cascade.swapped(denoiser=None, test_noise=dict(type='GaussianNoise',
            ...                                                     sigma=30)):
            ...     runner.test()  # doctest: +SKIP
        """
        saved = self.denoiser, self.test_noise, self.denoiser_cfg
        try:
            if denoiser is not KEEP:
                self.denoiser_cfg = None  # a module: its config is not known
                self.denoiser = self._placed(denoiser)
            if test_noise is not KEEP:
                self.test_noise = _build(test_noise)
            yield self
        finally:
            self.denoiser, self.test_noise, self.denoiser_cfg = saved

    def _placed(self, denoiser: Optional[nn.Module]) -> Optional[nn.Module]:
        """``denoiser`` on the cascade's device, in its memory format."""
        if denoiser is None:
            return None
        param = next(self.parameters(), None)
        if param is not None:
            denoiser = denoiser.to(param.device)
        return denoiser.to(memory_format=self.memory_format)

    def train(self, mode: bool = True) -> 'DenoisingCascade':
        """Set the training mode of the denoiser; the task model always stays in eval mode."""
        super().train(mode)
        if self.task_model is not None:
            self.task_model.eval()
        return self

    # ------------------------------------------------------------ data flow
    def forward(self,
                inputs: Images,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        """Run the cascade.

        Args:
            inputs (Tensor | list[Tensor]): (N, 3, H, W) float RGB in [0, 1] from
                :class:`PixelPreprocessor` (a list of (3, H_i, W_i) when sizes differ).
            data_samples (list, optional): The batch's data samples (labels, metainfo).
            mode (str): ``'loss'`` -> dict of losses; ``'predict'`` -> data samples with the
                task prediction (if any) and ``pred_img``/``gt_img``/``noisy_img`` (3, H, W)
                RGB in [0, 255] (denoised, clean, noisy);
                ``'tensor'`` -> the denoiser's output on ``inputs`` taken as noisy images.
        """
        batch = ImageBatch.of(inputs)  # the one place the batch's form is decided
        if mode == 'loss':
            return self.loss(batch, data_samples)
        if mode == 'predict':
            return self.predict(batch, data_samples)
        if mode == 'tensor':
            return denoise(self.denoiser, batch, None, self.memory_format).to_input_form()
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, inputs: Union[ImageBatch, Images],
             data_samples: Optional[list] = None) -> Dict[str, torch.Tensor]:
        """Training losses: ``loss_rec``, ``loss_task_*`` and logged extras ``task_*``."""
        clean = ImageBatch.of(inputs)
        noisy, level = add_noise(clean, self.noise, self._train_seeds(len(clean), data_samples))
        denoised = denoise(self.denoiser, noisy, level, self.memory_format)
        task_losses = None
        if self.task_model is not None and self.joint_loss.uses_task:
            with self._task_precision(clean):
                task_in = denoised.map(lambda x: self._task_dtype(x).clamp(0, 1))
                task_losses = self.task_losses(task_in, clean, data_samples)
        return self.joint_loss(denoised, clean, task_losses)

    def predict(self, inputs: Union[ImageBatch, Images],
                data_samples: Optional[list] = None) -> list:
        """Seeded test noise -> denoiser -> task prediction; keeps the images for PSNR/SSIM.

        The one setting ``(test_noise, denoiser)`` of :meth:`predict_settings`."""
        return self._predict_settings(ImageBatch.of(inputs), data_samples,
                                      [(self.test_noise, self.denoiser)])[0]

    @torch.no_grad()
    def predict_settings(self,
                         data: dict,
                         settings: Sequence[Setting],
                         denoise_dtype: Optional[torch.dtype] = None) -> List[list]:
        """One batch, many settings: the predictions of each ``(noise, denoiser)`` pair.

        What :meth:`predict` gives with that test noise and denoiser, for every pair, with each
        step done once per batch: each noise module draws its seeded noisy images once (the
        same pixels as :meth:`predict`: one seed per image id), the task model predicts the
        clean images once (``predict_clean``), each denoiser runs once per noise, and a pair
        whose task input equals an earlier pair's (``noisy`` and ``clean`` at sigma 0) reuses
        its predictions. The noise sweep and the corruption benchmark
        (:class:`~mmsemdenoise.engine.RobustnessTestLoop`) are one call per batch.

        Args:
            data (dict): A batch of the dataloader, as :meth:`test_step` takes it.
            settings (Sequence[tuple]): ``(noise, denoiser)`` pairs of modules: ``noise`` None
                for the clean images, ``denoiser`` None for none (the noisy input goes to the
                task model). Denoisers are moved to the cascade's device and memory format.
            denoise_dtype (torch.dtype, optional): Run the learned denoisers (not the
                classical ones, which work in NumPy) under autocast to this dtype. Defaults to
                None.

        Returns:
            list[list]: One list of data samples per pair (``pred_img``/``gt_img``/
            ``noisy_img`` (3, H, W) in [0, 255], the task prediction, ``clean_prediction``).
        """
        data = self.data_preprocessor(data, False)
        placed = {id(d): self._placed(d) for _, d in settings}
        settings = [(noise, placed[id(denoiser)]) for noise, denoiser in settings]
        return self._predict_settings(ImageBatch.of(data['inputs']), data.get('data_samples'),
                                      settings, denoise_dtype)

    def _predict_settings(self, batch: ImageBatch, data_samples: Optional[list],
                          settings: Sequence[Setting],
                          denoise_dtype: Optional[torch.dtype] = None) -> List[list]:
        """:meth:`predict_settings` on preprocessed images in [0, 1]."""
        references = None
        if self.predict_clean and self.task_model is not None:
            references = self._task_predictions(batch, copy.deepcopy(data_samples))
        seeds = image_seeds(data_samples, len(batch), self.eval_seed)
        noisy: Dict[int, tuple] = {}  # id(noise) -> (noisy, level), drawn once
        done: List[tuple] = []  # (noisy, denoised, predictions) of earlier pairs
        results = []
        for noise, denoiser in settings:
            if id(noise) not in noisy:
                noisy[id(noise)] = add_noise(batch, noise, seeds)
            images, level = noisy[id(noise)]
            denoised = self._denoise_as(denoiser, images, level, denoise_dtype)
            same = next((out for n, d, out in done if n.equal(images) and d.equal(denoised)),
                        None)
            if same is not None:  # the same task input as an earlier pair: its predictions
                results.append(copy.deepcopy(same))
                continue
            samples = data_samples if len(settings) == 1 else copy.deepcopy(data_samples)
            out = self._predictions(batch, images, denoised, samples, references)
            done.append((images, denoised, out))
            results.append(out)
        return results

    def _denoise_as(self, denoiser: Optional[nn.Module], noisy: ImageBatch,
                    level: torch.Tensor, dtype: Optional[torch.dtype]) -> ImageBatch:
        """``denoiser`` on images in [0, 1], under autocast to ``dtype`` if given (learned
        denoisers only)."""
        if dtype is None or denoiser is None or isinstance(denoiser, ClassicalDenoiser):
            return denoise(denoiser, noisy, level, self.memory_format)
        with torch.autocast(device_type=noisy.reference.device.type, dtype=dtype):
            denoised = denoise(denoiser, noisy, level, self.memory_format)
        return denoised.map(lambda x: x.float())

    def _task_predictions(self, images: ImageBatch, data_samples: Optional[list]) -> list:
        """The frozen task model's predictions on images in [0, 1], one call per group of one
        size (a task model predicts on one size per call)."""
        results = []
        for group, samples in zip(images.groups, images.split(data_samples or None)):
            batch = to_task_batch(self.task_model.data_preprocessor, self.data_preprocessor,
                                  ImageBatch([group]), samples, training=False)
            results.extend(self.task_model.predict(batch['inputs'], batch['data_samples']))
        return results

    def _predictions(self, clean: ImageBatch, noisy: ImageBatch, denoised: ImageBatch,
                     data_samples: Optional[list], references: Optional[list]) -> list:
        """The task prediction on ``denoised`` (clamped to [0, 1]), with ``references`` as
        ``clean_prediction`` and the images in [0, 1] kept as ``pred_img``/``gt_img``/
        ``noisy_img`` (3, H, W) in [0, 255]."""
        denoised = denoised.map(lambda x: x.float().clamp(0, 1))
        if self.task_model is not None:
            results = self._task_predictions(denoised, data_samples)
            for result, reference in zip(results, references or []):
                result.clean_prediction = reference
        else:
            results = data_samples or [BaseDataElement() for _ in range(len(clean))]
        for result, pred, gt, noise in zip(results, denoised.images(), clean.images(),
                                           noisy.images()):
            result.pred_img = pred.detach() * 255
            result.gt_img = gt * 255
            result.noisy_img = noise.detach() * 255
        return results

    def task_losses(self, denoised: ImageBatch, clean: ImageBatch,
                    data_samples: Optional[list]) -> dict:
        """The frozen task model's losses on the denoised images (gradients reach the denoiser)."""
        if self.task_target == 'labels':  # one call: the task preprocessor pads mixed sizes
            batch = to_task_batch(self.task_model.data_preprocessor, self.data_preprocessor,
                                  denoised, data_samples, training=True)
            return self.task_model.loss(batch['inputs'], batch['data_samples'])
        return {'loss_distill': denoised.image_mean([  # the task model takes one size per call
            self._distill(d, c, s) for d, c, s in
            zip(denoised.groups, clean.groups, denoised.split(data_samples or None))])}

    def _distill(self, denoised: torch.Tensor, clean: torch.Tensor,
                 data_samples: Optional[list]) -> torch.Tensor:
        """KL of the task outputs on (n, 3, H, W) ``denoised`` to those on ``clean``."""
        with torch.no_grad():
            teacher = self._task_logits(clean, data_samples)
        student = self._task_logits(denoised, data_samples)
        return distillation_loss(student, teacher, self.distill_temperature)

    # ------------------------------------------------------------- helpers
    def _task_precision(self, like: ImageBatch) -> contextlib.AbstractContextManager:
        """With ``task_float32``: autocast switched off for the task model."""
        if not self.task_float32:
            return contextlib.nullcontext()
        return torch.autocast(like.reference.device.type, enabled=False)

    def _task_dtype(self, images: torch.Tensor) -> torch.Tensor:
        return images.float() if self.task_float32 else images

    def _task_logits(self, images: torch.Tensor, data_samples: Optional[list]) -> torch.Tensor:
        batch = to_task_batch(self.task_model.data_preprocessor, self.data_preprocessor,
                              ImageBatch([images]), data_samples, training=False)
        return self.task_model(batch['inputs'], batch['data_samples'], mode='tensor')

    def _train_seeds(self, n: int, data_samples: Optional[list]) -> Optional[List[int]]:
        """With ``train_noise_seed``: one seed per image from its id and the iteration."""
        if self.train_noise_seed is None:
            return None
        step = MessageHub.get_current_instance().get_info('iter')
        if step is None:
            raise RuntimeError('DenoisingCascade(train_noise_seed=...) reads the iteration from '
                               "mmengine's MessageHub ('iter', set by the Runner's "
                               'RuntimeInfoHook); none is set outside a Runner')
        return image_seeds(data_samples, n, self.train_noise_seed, step=step)

