"""A noise model that draws, per image, one of several noise models: training for many noises."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from mmsemdenoise.registry import MODELS
from .corruptions import NOISE_CORRUPTIONS, SEVERITIES
from .functional import make_generators
from .noise_models import check_clean_batch

NoiseCfg = Union[dict, nn.Module]


@MODELS.register_module()
class MixedNoise(nn.Module):
    """Each image gets one noise model, drawn from ``noises`` (uniformly or by ``weights``).

    With seeds, image ``i``'s own generator draws its choice and a seed for the chosen model, so a
    seeded image gets the same noisy version whatever batch it is in; without seeds (training) the
    choice comes from the global CPU generator and the chosen models draw from the global ones.
    The noise level is the chosen model's.

    To draw one family and one severity per image from the four noise corruptions of the
    common-corruption benchmarks (uniform over the 20 pairs)::

        noise = dict(type='MixedNoise', noises=[
            dict(type='CorruptionNoise', corruption=c, severity=(1, 5))
            for c in ('gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise')])

    (:meth:`noise_corruptions` builds the same in Python.)

    Args:
        noises (Sequence[dict | nn.Module]): Noise models (configs or modules) with the common
            interface ``noisy, level = noise(clean, seeds)``; at least one.
        weights (Sequence[float], optional): Relative probability of each; ``None`` draws them
            uniformly. Defaults to None.
    """

    def __init__(self,
                 noises: Sequence[NoiseCfg],
                 weights: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        if not isinstance(noises, Sequence) or len(noises) == 0:
            raise ValueError(f'MixedNoise.noises must be a non-empty list, got {noises!r}')
        self.noises = nn.ModuleList(
            [MODELS.build(n) if isinstance(n, dict) else n for n in noises])
        if weights is None:
            weights = [1.0] * len(noises)
        if len(weights) != len(noises) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f'MixedNoise.weights must be {len(noises)} values >= 0 with a '
                             f'positive sum, got {list(weights)}')
        total = float(sum(weights))
        self.probs: List[float] = [float(w) / total for w in weights]

    @classmethod
    def noise_corruptions(cls,
                          corruptions: Sequence[str] = tuple(NOISE_CORRUPTIONS),
                          severities: Tuple[int, int] = (SEVERITIES[0], SEVERITIES[-1]),
                          quantize: bool = True) -> 'MixedNoise':
        """One of ``corruptions`` per image, at a severity drawn uniformly from ``severities``."""
        return cls([dict(type='CorruptionNoise', corruption=c, severity=tuple(severities),
                         quantize=quantize) for c in corruptions])

    def draw_choice(self, num_images: int,
                    generators: Optional[List[torch.Generator]]) -> Tuple[Tensor, Optional[list]]:
        """Per image: the index of its noise model and (seeded) a seed for that model.

        Returns:
            tuple: ``(N,)`` int64 CPU indices, and a list of N ints or None.
        """
        probs = torch.tensor(self.probs)
        if generators is None:
            return torch.multinomial(probs, num_images, replacement=True), None
        choices, seeds = [], []
        for g in generators:
            choices.append(torch.multinomial(probs.to(g.device), 1, generator=g).cpu())
            seeds.append(int(torch.randint(0, 2**31 - 1, (1, ), generator=g, device=g.device)))
        return torch.cat(choices), seeds

    def forward(self,
                clean: Tensor,
                seeds: Optional[Sequence[int]] = None) -> Tuple[Tensor, Tensor]:
        """Add each image's drawn noise.

        Args:
            clean (Tensor): ``(N, C, H, W)`` float in ``[0, 1]``.
            seeds (Sequence[int], optional): One seed per image, or ``None``. Defaults to None.

        Returns:
            tuple[Tensor, Tensor]: ``noisy`` ``(N, C, H, W)`` and ``noise_level`` ``(N,)``,
            dtype and device of ``clean``.
        """
        check_clean_batch(clean)
        generators = make_generators(seeds, clean.shape[0], clean.device)
        choice, sub_seeds = self.draw_choice(clean.shape[0], generators)
        noisy = torch.empty_like(clean)
        level = clean.new_empty(clean.shape[0])
        for k in choice.unique().tolist():
            index = (choice == k).nonzero().flatten()
            part_seeds = None if sub_seeds is None else [sub_seeds[i] for i in index.tolist()]
            index = index.to(clean.device)
            part, part_level = self.noises[k](clean[index], part_seeds)
            noisy[index] = part.to(clean.dtype)
            level[index] = part_level.to(clean.dtype)
        return noisy, level

    def extra_repr(self) -> str:
        return f'probs={[round(p, 4) for p in self.probs]}'
