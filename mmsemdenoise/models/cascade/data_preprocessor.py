"""The cascade's data preprocessor: device, float pixels in [0, 1], RGB. Nothing else."""
from typing import List

import torch
from mmengine.model import BaseDataPreprocessor

from mmsemdenoise.registry import MODELS


@MODELS.register_module()
class PixelPreprocessor(BaseDataPreprocessor):
    """Move a batch to the device and turn its images into float RGB pixels in [0, 1].

    Steps, in order:

    1. move ``inputs`` and ``data_samples`` to the model's device;
    2. ``float(img) / pixel_max``;
    3. flip the channel order when ``bgr_to_rgb`` (mmcv's ``LoadImageFromFile`` loads BGR);
    4. stack into one tensor when every image has the same size; otherwise keep the list.

    Note:
        Unlike mmseg's or mmpretrain's preprocessors this one neither normalises nor pads: noise
        and the denoiser act on pixels, and the task model's own preprocessor normalises and pads
        the denoised image afterwards (see :class:`DenoisingCascade`).

    Args:
        bgr_to_rgb (bool): Whether the pipeline delivers BGR images to be flipped to RGB.
            Defaults to True.
        pixel_max (float): Value of white in the pipeline's images. Defaults to 255.
    """

    def __init__(self, bgr_to_rgb: bool = True, pixel_max: float = 255.0) -> None:
        super().__init__()
        self.bgr_to_rgb = bgr_to_rgb
        self.pixel_max = pixel_max

    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess one batch from the dataloader.

        Args:
            data (dict): ``inputs``: a list of (3, H, W) tensors (uint8 or float, 0..pixel_max)
                or one (N, 3, H, W) tensor; ``data_samples``: optional list of data samples.
            training (bool): Unused; the same steps apply in training and testing.

        Returns:
            dict: ``inputs``: float (N, 3, H, W) in [0, 1], RGB, or a list of (3, H_i, W_i) when
            the sizes differ; ``data_samples`` unchanged but on the device.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        images = list(inputs) if isinstance(inputs, torch.Tensor) else inputs
        for i, img in enumerate(images):
            if img.dim() != 3 or img.shape[0] != 3:
                raise ValueError(f'image {i} of the batch: expected a (3, H, W) tensor, '
                                 f'got shape {tuple(img.shape)}')
        images = [self._to_unit_rgb(img) for img in images]
        if all(img.shape == images[0].shape for img in images):
            images = torch.stack(images)
        return dict(inputs=images, data_samples=data.get('data_samples'))

    def _to_unit_rgb(self, img: torch.Tensor) -> torch.Tensor:
        img = img.float() / self.pixel_max
        return img.flip(0) if self.bgr_to_rgb else img

    def to_pipeline_format(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Undo :meth:`forward` for a batch: float [0, 1] RGB back to the pipeline's format.

        Args:
            images (Tensor): (N, 3, H, W) in [0, 1], RGB.

        Returns:
            list[Tensor]: N float tensors (3, H, W) in [0, pixel_max], in the pipeline's channel
            order -- what a task model's own data preprocessor expects.
        """
        images = images * self.pixel_max
        if self.bgr_to_rgb:
            images = images.flip(1)
        return list(images)

