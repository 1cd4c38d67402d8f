"""Loading trusted local checkpoints under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine 0.10.7's local loader does
not pass ``weights_only``, so it cannot read the checkpoints mmengine itself writes (they pickle the
message hub's ``HistoryBuffer`` and numpy scalars): ``--resume`` and ``load_from`` fail with
``Unsupported global``. mmengine's own extension point, ``CheckpointLoader.register_scheme``,
replaces its loader for plain paths by one that passes ``weights_only=False``.

Only load checkpoints you trust: unpickling can run code.
"""
import os.path as osp
from typing import Callable, Optional, Union

import torch
from mmengine.runner.checkpoint import CheckpointLoader

MapLocation = Optional[Union[str, torch.device, Callable]]


def load_from_trusted_local(filename: str, map_location: MapLocation = None) -> dict:
    """Load a local checkpoint file, allowing the Python objects mmengine stores in it.

    (Named ``load_from_*`` like mmengine's loaders, whose log line prints the name's tail.)

    Args:
        filename (str): Path of the checkpoint (``file://`` prefix accepted).
        map_location: As in :func:`torch.load`. Defaults to None.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` is not a file.
    """
    filename = osp.expanduser(filename)
    if filename.startswith('file://'):
        filename = filename[len('file://'):]
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    return torch.load(filename, map_location=map_location, weights_only=False)


def register_trusted_local_loader() -> None:
    """Make mmengine's loader for plain paths use :func:`load_from_trusted_local`."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_trusted_local, force=True)
