"""The one form of a batch of images inside the cascade: groups of images of one size.

A data preprocessor hands over either one (N, 3, H, W) tensor (every image of one size) or a
list of (3, H_i, W_i) tensors (sizes differ). That choice is made once, by
:meth:`ImageBatch.of`, where the batch enters the cascade (or the deployment preprocessor); the
steps of :mod:`.flow`, the losses and the predictions then see one type:

    ImageBatch.of((N, 3, H, W) tensor)     -> one group, the whole batch at once
    ImageBatch.of([(3, H_i, W_i), ...])    -> one group (1, 3, H_i, W_i) per image

Each step runs once per group, so a same-size batch is one call of the denoiser and a mixed one
is one call per image, with the same numbers as before the split.
"""
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import torch

#: What a data preprocessor hands to a model: (N, 3, H, W), or a list of (3, H_i, W_i).
Images = Union[torch.Tensor, List[torch.Tensor]]


class ImageBatch:
    """N images as groups of one size (``groups[g]``: (n_g, 3, H_g, W_g)).

    Args:
        groups (Sequence[Tensor]): The groups, in batch order; at least one image in all.
        stacked (bool): Whether the batch came as one tensor (:meth:`to_input_form` gives one
            back). Defaults to True.
    """

    def __init__(self, groups: Sequence[torch.Tensor], stacked: bool = True) -> None:
        self.groups: Tuple[torch.Tensor, ...] = tuple(groups)
        if not self.groups:
            raise ValueError('ImageBatch: a batch needs at least one image')
        self.stacked = stacked

    @classmethod
    def of(cls, images: Union['ImageBatch', Images]) -> 'ImageBatch':
        """The batch form of a preprocessor's ``inputs`` (an ``ImageBatch`` is returned as is).

        Args:
            images (Tensor | list[Tensor] | ImageBatch): (N, 3, H, W), or a list of
                (3, H_i, W_i) (one group per image, also when sizes happen to agree).
        """
        if isinstance(images, ImageBatch):
            return images
        if isinstance(images, torch.Tensor):
            if images.dim() != 4:
                raise ValueError(f'ImageBatch: expected (N, 3, H, W) images, got shape '
                                 f'{tuple(images.shape)}')
            return cls([images], stacked=True)
        return cls([img[None] for img in images], stacked=False)

    def __len__(self) -> int:
        """The number of images N."""
        return sum(group.shape[0] for group in self.groups)

    @property
    def reference(self) -> torch.Tensor:
        """The first group: its device and dtype are the batch's."""
        return self.groups[0]

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> 'ImageBatch':
        """``fn`` on each group ((n_g, 3, H_g, W_g) -> same number of images)."""
        return ImageBatch([fn(group) for group in self.groups], self.stacked)

    def split(self, values: Optional[Sequence]) -> List[Optional[Sequence]]:
        """Per-image values (a sequence or an (N, ...) tensor) cut into the groups' slices;
        None gives None for every group."""
        if values is None:
            return [None] * len(self.groups)
        slices, start = [], 0
        for group in self.groups:
            slices.append(values[start:start + group.shape[0]])
            start += group.shape[0]
        return slices

    def images(self) -> Iterator[torch.Tensor]:
        """The images one by one, (3, H_i, W_i), in batch order."""
        for group in self.groups:
            yield from group

    def image_mean(self, values: Sequence[torch.Tensor]) -> torch.Tensor:
        """One () mean per group averaged so that every image counts the same (the group's
        own value for a single group).

        Args:
            values (Sequence[Tensor]): One () value per group, e.g. a loss on that group.

        Returns:
            Tensor: () the mean over images.
        """
        if len(values) != len(self.groups):
            raise ValueError(f'ImageBatch.image_mean: {len(values)} values for '
                             f'{len(self.groups)} groups')
        if len(values) == 1:
            return values[0]
        sizes = [group.shape[0] for group in self.groups]
        if all(n == 1 for n in sizes):
            return torch.stack(list(values)).mean()
        return torch.stack([value * n for value, n in zip(values, sizes)]).sum() / len(self)

    def equal(self, other: 'ImageBatch') -> bool:
        """Whether both batches hold the same pixels in the same groups."""
        return len(self.groups) == len(other.groups) and all(
            mine.shape == theirs.shape and torch.equal(mine, theirs)
            for mine, theirs in zip(self.groups, other.groups))

    def to_input_form(self) -> Images:
        """Back to what :meth:`of` took: one (N, 3, H, W) tensor or a list of (3, H_i, W_i)."""
        if self.stacked and len(self.groups) == 1:
            return self.groups[0]
        return list(self.images())
