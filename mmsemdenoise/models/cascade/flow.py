"""The steps of the data flow shared by training and deployment.

:class:`DenoisingCascade` (training, evaluation) and :class:`DenoisingDataPreprocessor` (the
denoiser in front of an unchanged task model) run the same steps on the same value ranges:

    seeds    = image_seeds(data_samples, n, base)   one seed per image, from its id
    noisy    = add_noise(clean, noise, seeds)       (N, 3, H, W) RGB in [0, 1], level (N,)
    denoised = denoise(denoiser, noisy, level)      same shape, not clamped
    batch    = to_task_batch(task_dp, pixels, ...)  back to the pipeline's 0-255 pixels, then the
                                                    task model's own data preprocessor
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseDataPreprocessor

from ..noise import image_seed
from .data_preprocessor import PixelPreprocessor

Images = Union[torch.Tensor, List[torch.Tensor]]


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


def add_noise(clean: Images,
              noise: Optional[nn.Module],
              seeds: Optional[Sequence[int]] = None) -> Tuple[Images, torch.Tensor]:
    """Add ``noise`` to (N, 3, H, W) images in [0, 1] (or a list of (3, H_i, W_i)).

    Returns:
        tuple: ``(noisy, level)``, noisy like ``clean``, level (N,) in sigma / 255 (zeros
        without noise). ``seeds=None`` draws from the global generator.
    """
    if noise is None:
        n = clean.shape[0] if isinstance(clean, torch.Tensor) else len(clean)
        ref = clean if isinstance(clean, torch.Tensor) else clean[0]
        return clean, ref.new_zeros(n)
    if isinstance(clean, torch.Tensor):
        return noise(clean, seeds)
    pairs = [noise(img[None], None if seeds is None else [seeds[i]])
             for i, img in enumerate(clean)]
    return [p[0][0] for p in pairs], torch.cat([p[1] for p in pairs])


def denoise(denoiser: Optional[nn.Module],
            noisy: Images,
            level: Optional[torch.Tensor] = None,
            memory_format: torch.memory_format = torch.contiguous_format) -> Images:
    """``denoiser(noisy, level)`` on (N, 3, H, W) images in [0, 1], one image at a time for a
    list; identity without a denoiser. The output is not clamped."""
    if denoiser is None:
        return noisy
    if isinstance(noisy, torch.Tensor):
        return denoiser(noisy.contiguous(memory_format=memory_format), level)
    return [denoise(denoiser, img[None], None if level is None else level[i:i + 1],
                    memory_format)[0] for i, img in enumerate(noisy)]


def to_task_batch(task_preprocessor: BaseDataPreprocessor,
                  pixels: PixelPreprocessor,
                  images: Images,
                  data_samples: Optional[list],
                  training: bool) -> dict:
    """Hand RGB images in [0, 1] to a task model's own data preprocessor, as the pipeline's
    0-255 pixels in the pipeline's channel order (what ``pixels`` turned them from).

    Returns:
        dict: The task preprocessor's output (``inputs`` normalised and padded its way,
        ``data_samples``).
    """
    to_pipeline = pixels.to_pipeline_format
    task_inputs = (to_pipeline(images) if isinstance(images, torch.Tensor) else
                   [to_pipeline(img[None])[0] for img in images])
    return task_preprocessor(dict(inputs=task_inputs, data_samples=data_samples), training)
