"""Freezing the task model of a cascade (its weights load through
:func:`mmsemdenoise.utils.load_weights`)."""
import torch.nn as nn


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
