"""Loading and freezing the task model of a cascade."""
from typing import Dict, List

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint


def freeze(model: nn.Module) -> nn.Module:
    """Switch off gradients for every parameter and put the model in eval mode.

    Gradients still flow *through* the model into its input; only its own weights get none.

    Args:
        model (nn.Module): The task model.

    Returns:
        nn.Module: The same model, frozen.
    """
    model.requires_grad_(False)
    return model.eval()


def _state_dict_of(checkpoint: dict, source: str) -> Dict[str, torch.Tensor]:
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise TypeError(f'task checkpoint {source}: expected a dict (a state_dict or a '
                        f"checkpoint with a 'state_dict' key), got {type(checkpoint).__name__}")
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


def _preview(keys: List[str], limit: int = 8) -> str:
    more = f' ... (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def load_task_checkpoint(model: nn.Module, checkpoint: str, strict: bool = True) -> None:
    """Load a task model's weights from a local path or URL and report every mismatch.

    Args:
        model (nn.Module): The task model (e.g. an mmseg ``EncoderDecoder``).
        checkpoint (str): Local path or URL (mmengine's loaders: ``http(s)://``,
            ``open-mmlab://``, ...). A checkpoint with a ``state_dict`` key or a bare state dict.
        strict (bool): Raise on missing, unexpected or mis-shaped keys; otherwise log a
            warning naming them. Defaults to True.

    Raises:
        KeyError: With ``strict``, if keys are missing or unexpected.
        ValueError: With ``strict``, if shapes differ.
    """
    state = _state_dict_of(_load_checkpoint(checkpoint, map_location='cpu'), checkpoint)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                  for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing keys: {_preview(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected keys: {_preview(unexpected)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatches: {_preview(mismatched)}')
    if problems:
        message = f'task checkpoint {checkpoint} does not fit {type(model).__name__}: ' + \
            '; '.join(problems)
        if strict:
            raise (ValueError if mismatched else KeyError)(message)
        print_log(message, logger='current', level=30)
    shape_ok = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    model.load_state_dict(shape_ok, strict=False)
    print_log(f'loaded the frozen task model from {checkpoint}', logger='current')
