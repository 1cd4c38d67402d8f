"""The steps of the data flow shared by training and deployment.

:class:`DenoisingCascade` (training, evaluation) and :class:`DenoisingDataPreprocessor` (the
denoiser in front of an unchanged task model) run the same steps on the same value ranges:

    clean    = ImageBatch.of(inputs)                N RGB images in [0, 1], groups of one size
    seeds    = image_seeds(data_samples, n, base)   one seed per image, from its id
    noisy    = add_noise(clean, noise, seeds)       same form, level (N,) in sigma / 255
    denoised = denoise(denoiser, noisy, level)      same shape, not clamped
    batch    = to_task_batch(task_dp, pixels, ...)  back to the pipeline's 0-255 pixels, then the
                                                    task model's own data preprocessor
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseDataPreprocessor

from ..noise import image_seed
from .data_preprocessor import PixelPreprocessor
from mmsemdenoise.structures import ImageBatch


def image_seeds(data_samples: Optional[Sequence],
                num_images: int,
                base_seed: int,
                step: Optional[int] = None) -> List[int]:
    """One noise seed per image from its id (``img_id``, else the file name of ``img_path``,
    else its index in the batch): the same image gets the same noise in any batch.

    Args:
        data_samples (Sequence, optional): The batch's data samples (their ``metainfo``).
        num_images (int): Images in the batch, used when there are no data samples.
        base_seed (int): Seed of the whole evaluation (or training run).
        step (int, optional): The training iteration: new noise for the same image at every
            step, the same in any process layout. Defaults to None (evaluation).

    Returns:
        list[int]: ``num_images`` seeds in ``[0, 2**32)``.
    """
    if not data_samples:
        keys = list(range(num_images))
    else:
        keys = []
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo if hasattr(sample, 'metainfo') else {}
            keys.append(meta.get('img_id')
                        or (osp.basename(meta['img_path']) if meta.get('img_path') else i))
    if step is not None:
        keys = [f'{key}@{step}' for key in keys]
    return [image_seed(key, base_seed) for key in keys]


def add_noise(clean: ImageBatch,
              noise: Optional[nn.Module],
              seeds: Optional[Sequence[int]] = None) -> Tuple[ImageBatch, torch.Tensor]:
    """Add ``noise`` to images in [0, 1], one call per group of one size.

    Args:
        clean (ImageBatch): N RGB images in [0, 1].
        noise (nn.Module, optional): A noise model; None adds none.
        seeds (Sequence[int], optional): One seed per image; None draws from the global
            generator.

    Returns:
        tuple: ``(noisy, level)``: noisy like ``clean``, level (N,) in sigma / 255 (zeros
        without noise).
    """
    if noise is None:
        return clean, clean.reference.new_zeros(len(clean))
    pairs = [noise(group, group_seeds)
             for group, group_seeds in zip(clean.groups, clean.split(seeds))]
    return ImageBatch([p[0] for p in pairs], clean.stacked), torch.cat([p[1] for p in pairs])


def denoise(denoiser: Optional[nn.Module],
            noisy: ImageBatch,
            level: Optional[torch.Tensor] = None,
            memory_format: torch.memory_format = torch.contiguous_format) -> ImageBatch:
    """``denoiser(noisy, level)`` on images in [0, 1], one call per group of one size (level
    (N,) in sigma / 255, or None); identity without a denoiser. The output is not clamped."""
    if denoiser is None:
        return noisy
    return ImageBatch([denoiser(group.contiguous(memory_format=memory_format), group_level)
                       for group, group_level in zip(noisy.groups, noisy.split(level))],
                      noisy.stacked)


def to_task_batch(task_preprocessor: BaseDataPreprocessor,
                  pixels: PixelPreprocessor,
                  images: ImageBatch,
                  data_samples: Optional[list],
                  training: bool) -> dict:
    """Hand RGB images in [0, 1] to a task model's own data preprocessor, as the pipeline's
    0-255 pixels in the pipeline's channel order (what ``pixels`` turned them from), as one
    list of (3, H_i, W_i): the task preprocessor pads and stacks them its own way.

    Returns:
        dict: The task preprocessor's output (``inputs`` normalised and padded its way,
        ``data_samples``).
    """
    task_inputs = [img for group in images.groups for img in pixels.to_pipeline_format(group)]
    return task_preprocessor(dict(inputs=task_inputs, data_samples=data_samples), training)
