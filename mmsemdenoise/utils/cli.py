"""Command-line options shared by ``tools/train.py`` and ``tools/test.py``.

The flags and their meaning follow mmseg's and mmpretrain's tools, so that commands users already
know work unchanged.
"""
import argparse
import os
import os.path as osp
import pickle
import sys
from typing import List, NoReturn, Optional

from mmengine.config import Config, DictAction

from .checkpoint import trust_checkpoint
from .weights import resolve_checkpoint


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank``.

    Args:
        parser (argparse.ArgumentParser): Parser to extend in place.
    """
    parser.add_argument('--work-dir', help='folder for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs in xxx=yyy format, e.g. '
        'train_cfg.max_iters=10 "model.noise.sigma=[0,55]" (no white space inside a value)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher (pytorch: one process per GPU, see tools/dist_train.sh)')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


#: Errors the tools report as one line (``<tool>: error: <message>``) when they happen before
#: training or evaluation starts: missing or unreadable files, bad values, refused checkpoints.
KNOWN_ERRORS = (OSError, KeyError, ValueError, RuntimeError, pickle.UnpicklingError)


def add_trust_arg(parser: argparse.ArgumentParser) -> None:
    """Add ``--trust-checkpoint`` (see :mod:`mmsemdenoise.utils.checkpoint`)."""
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='load the checkpoint files this command names (the checkpoint argument, --resume, '
        'load_from, model.task_checkpoint / denoiser_checkpoint) even if they hold Python objects '
        'outside the allowlist (torch.load weights_only=False: unpickling can run code; only '
        'for files you trust)')


def trust_run_checkpoints(cfg: Config, *named: Optional[str]) -> List[str]:
    """``--trust-checkpoint``: trust the checkpoint files (and URLs) this command names -- ``named``
    (the command line's checkpoint), ``load_from`` and the model's ``task_checkpoint`` /
    ``denoiser_checkpoint`` (work dirs: their last checkpoint).

    Returns:
        list[str]: The real paths now trusted.
    """
    model = cfg.get('model') or {}
    candidates = [*named, cfg.get('load_from'), model.get('task_checkpoint'),
                  model.get('denoiser_checkpoint')]
    trusted = []
    for path in candidates:
        if not isinstance(path, str) or not path:
            continue
        if path.startswith(('http://', 'https://')):
            trusted.append(trust_checkpoint(path))
        elif '://' not in path and osp.exists(path):
            trusted.append(trust_checkpoint(resolve_checkpoint(path)))
    return trusted


def fail(tool: str, error: BaseException) -> NoReturn:
    """Exit with status 1 and one line: ``<tool>: error: <message>``."""
    sys.exit(f'{tool}: error: {error_message(error)}')


def error_message(error: BaseException) -> str:
    """The text of an error for a command line: ``str(error)``, but a ``KeyError``'s message
    without the quotes ``str`` puts around it."""
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)


def load_config(args: argparse.Namespace) -> Config:
    """Read ``args.config`` and apply the common options to it.

    Importing :mod:`mmsemdenoise` before this enables ``mmsemdenoise::`` bases.

    Args:
        args (argparse.Namespace): Parsed arguments with ``config``, ``work_dir``,
            ``cfg_options``, ``launcher`` and ``local_rank``.

    Returns:
        Config: The merged config, with ``work_dir`` and ``launcher`` set.

    Raises:
        FileNotFoundError: If the config file does not exist.
    """
    if '::' not in args.config and not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    # work_dir priority: command line > config file > config name
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        name = osp.splitext(osp.basename(args.config.split('::')[-1]))[0]
        cfg.work_dir = osp.join('./work_dirs', name)
    return cfg
