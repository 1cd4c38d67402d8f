"""The denoiser as the data preprocessor of an unchanged mmseg / mmpretrain model (deployment).

    pixels   = PixelPreprocessor(batch)            (N, 3, H, W) float RGB in [0, 1], on the device
    noisy    = noise(pixels)                       only with ``noise=``; seeded per image at test
    denoised = denoiser(noisy).clamp(0, 1)         frozen: eval mode, no gradient
    batch    = task_preprocessor(denoised)         as the pipeline's 0-255 pixels: the task
                                                   model's own mean/std, BGR<->RGB, padding

The steps are those of :class:`DenoisingCascade` (:mod:`.flow`), so a trained cascade and the
task model with this preprocessor give the same predictions
(``tools/deployment/export_cascade.py``).
"""
import warnings
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import MODELS as ROOT_MODELS

from mmsemdenoise.registry import MODELS, SCOPE
from mmsemdenoise.structures import ImageBatch
from mmsemdenoise.utils.weights import load_weights
from ..denoisers.architecture import resolve_architecture
from .data_preprocessor import PixelPreprocessor
from .flow import add_noise, denoise, image_seeds, to_task_batch
from .frozen_task import freeze

ModuleCfg = Union[dict, nn.Module]


def _build_ours(cfg: Optional[ModuleCfg]) -> Optional[nn.Module]:
    """Build one of our modules whatever the current default scope (upstream entry points set
    theirs)."""
    if not isinstance(cfg, dict):
        return cfg
    return MODELS.build(dict(cfg, _scope_=cfg.get('_scope_', SCOPE)))


def _keep_denoiser_weights(module: 'DenoisingDataPreprocessor', state_dict: dict, prefix: str,
                           *args) -> None:
    """Load-state-dict pre-hook: a state dict without the denoiser (the task model's own
    checkpoint) gets the denoiser's current tensors, so it loads without missing keys."""
    own = prefix + 'denoiser.'
    if not any(key.startswith(own) for key in state_dict):
        for key, value in module.denoiser.state_dict().items():
            state_dict[own + key] = value


@MODELS.register_module()
class DenoisingDataPreprocessor(BaseDataPreprocessor):
    """A frozen denoiser in front of a task model's own data preprocessor.

    Set it as ``model.data_preprocessor`` of an unmodified segmentor or classifier (the model
    type stays ``EncoderDecoder`` / ``ImageClassifier``; upstream entry points switch the default
    scope to theirs, so name it ``'mmsemdenoise.DenoisingDataPreprocessor'``).

    Steps, in order:

    1. move the batch to the device, float RGB in [0, 1] (:class:`PixelPreprocessor`);
    2. with ``noise``: add it, seeded per image at test (see :func:`.flow.image_seeds`), from
       the global generator in training;
    3. the denoiser, in eval mode and without gradient, clamped to [0, 1];
    4. back to 0-255 pixels in the pipeline's channel order, then ``task_preprocessor`` with the
       ``training`` flag (normalisation, channel order, padding, batch augments).

    Note:
        The denoiser's weights are loaded when this module is built, since upstream inference
        (``init_model``, the inferencers, ``Runner.test``) never calls ``init_weights``. The task
        model's own checkpoint then loads unchanged: when a state dict holds no
        ``data_preprocessor.denoiser.*`` key, a load-state-dict pre-hook supplies the denoiser's
        current tensors, so nothing is reported missing and the denoiser keeps its weights; a
        checkpoint that does hold them (a model saved with this preprocessor) loads them.

    Args:
        denoiser (dict | nn.Module, optional): The denoiser, e.g.
            ``dict(type='ThreeScaleDenoiser')`` (built in the ``mmsemdenoise`` scope). None:
            the architecture ``denoiser_checkpoint`` carries; a config is checked against it
            (a contradiction raises, naming both). Defaults to None.
        task_preprocessor (dict | BaseDataPreprocessor): The task model's own data preprocessor,
            e.g. mmseg's ``SegDataPreProcessor`` or mmpretrain's ``ClsDataPreprocessor`` config
            (built in the current scope; name the type with its scope, as
            ``'mmpretrain.ClsDataPreprocessor'``, to be independent of it). Required.
        denoiser_checkpoint (str, optional): The denoiser's weights: a shipped name
            (``mmsemdenoise://three-scale_blind_bsd400``), a checkpoint file (a bare denoiser or a
            cascade, whose ``denoiser.*`` keys are taken) or a run's work dir; loaded strictly
            by :func:`~mmsemdenoise.utils.load_weights`. None keeps the initialisation it was
            built with (a warning says so). Defaults to None.
        noise (dict | nn.Module, optional): Synthetic noise added before the denoiser, for
            evaluation on noisy copies of clean data. Defaults to None (real inputs as they are).
        eval_seed (int): Base seed of the per-image test noise. Defaults to 0.
        noise_level (float, optional): Noise sigma (0-255 scale) handed to a non-blind denoiser
            (FFDNet) when no ``noise`` is set. Defaults to None.
        bgr_to_rgb (bool): Whether the pipeline delivers BGR images (mmcv's loaders do); the
            denoiser sees RGB. Defaults to True.
        channels_last (bool): Run the denoiser in channels-last memory format. Defaults to True.
        batch_augments (dict, optional): Handed to ``task_preprocessor`` (mmpretrain's
            ``ImageClassifier`` sets it from ``train_cfg.augments``). Defaults to None.
    """

    def __init__(self,
                 denoiser: Optional[ModuleCfg] = None,
                 task_preprocessor: Union[dict, BaseDataPreprocessor, None] = None,
                 denoiser_checkpoint: Optional[str] = None,
                 noise: Optional[ModuleCfg] = None,
                 eval_seed: int = 0,
                 noise_level: Optional[float] = None,
                 bgr_to_rgb: bool = True,
                 channels_last: bool = True,
                 batch_augments: Optional[dict] = None) -> None:
        super().__init__()
        if task_preprocessor is None:
            raise TypeError("DenoisingDataPreprocessor: task_preprocessor is required (the task "
                            "model's own data preprocessor)")
        if not isinstance(denoiser, nn.Module):
            denoiser = resolve_architecture(denoiser, denoiser_checkpoint,
                                            owner='DenoisingDataPreprocessor')
        self.pixels = PixelPreprocessor(bgr_to_rgb=bgr_to_rgb)
        self.denoiser = freeze(_build_ours(denoiser))
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.denoiser.to(memory_format=self.memory_format)
        if denoiser_checkpoint:
            load_weights(self.denoiser, denoiser_checkpoint, prefix='denoiser.', name='denoiser')
        else:
            warnings.warn('DenoisingDataPreprocessor: no denoiser_checkpoint, the denoiser keeps '
                          'the weights it was built with')
        self.denoiser_checkpoint = denoiser_checkpoint
        self.task_preprocessor = self._build_task_preprocessor(task_preprocessor, batch_augments)
        self.noise = _build_ours(noise)
        self.eval_seed = eval_seed
        self.noise_level = noise_level
        self.register_load_state_dict_pre_hook(_keep_denoiser_weights)

    @staticmethod
    def _build_task_preprocessor(cfg: Union[dict, BaseDataPreprocessor],
                                 batch_augments: Optional[dict]) -> BaseDataPreprocessor:
        if isinstance(cfg, BaseDataPreprocessor):
            if batch_augments is not None:
                raise ValueError('DenoisingDataPreprocessor: batch_augments given, but the '
                                 'task_preprocessor is an already built module; pass its config')
            return cfg
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise TypeError(
                'DenoisingDataPreprocessor: task_preprocessor must be a data preprocessor config '
                f"with a 'type' or a BaseDataPreprocessor, got {cfg!r} (mmpretrain configs leave "
                "the type out of their top-level data_preprocessor: add "
                "type='mmpretrain.ClsDataPreprocessor')")
        if batch_augments is not None:
            cfg = dict(cfg, batch_augments=batch_augments)
        built = ROOT_MODELS.build(cfg)  # in the current scope, as the task model would build it
        if not isinstance(built, BaseDataPreprocessor):
            raise TypeError(f'DenoisingDataPreprocessor: task_preprocessor {cfg["type"]!r} built '
                            f'a {type(built).__name__}, not a BaseDataPreprocessor')
        return built

    def train(self, mode: bool = True) -> 'DenoisingDataPreprocessor':
        """Set the task preprocessor's mode; the denoiser always stays in eval mode."""
        super().train(mode)
        self.denoiser.eval()
        return self

    def forward(self, data: dict, training: bool = False) -> dict:
        """Denoise a batch from the dataloader and preprocess it for the task model.

        Args:
            data (dict): ``inputs``: a list of (3, H, W) tensors (uint8 or float, 0-255, in the
                pipeline's channel order) or one (N, 3, H, W) tensor; ``data_samples``.
            training (bool): Handed to the task preprocessor (batch augments, padding mode);
                also draws the noise from the global generator instead of per-image seeds.

        Returns:
            dict: The task preprocessor's output on the denoised pixels.
        """
        batch = self.pixels(data)
        images, samples = ImageBatch.of(batch['inputs']), batch['data_samples']
        level = None
        if self.noise is not None:
            seeds = None if training else image_seeds(samples, len(images), self.eval_seed)
            images, level = add_noise(images, self.noise, seeds)
        elif self.noise_level is not None:
            level = torch.full((len(images), ), self.noise_level / 255, device=self.device)
        with torch.no_grad():
            denoised = denoise(self.denoiser, images, level, self.memory_format)
        denoised = denoised.map(lambda x: x.float().clamp(0, 1))
        return to_task_batch(self.task_preprocessor, self.pixels, denoised, samples, training)
