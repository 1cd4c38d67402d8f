"""Export a trained :class:`DenoisingCascade` as the unchanged task model with the denoiser as its
data preprocessor (:class:`DenoisingDataPreprocessor`), for upstream tools and deployment.

Three files come out, in one folder that can be moved as a whole:

* ``<name>.py``: the cascade's config with ``model`` replaced by its task model (type unchanged,
  e.g. ``EncoderDecoder``) whose ``data_preprocessor`` is the denoiser in front of the task's own
  preprocessor; metrics that need the cascade's outputs (PSNR, SSIM, CleanAgreement) are left
  out of the evaluators; the default scope becomes the task library's (``mmseg`` /
  ``mmpretrain``), every type name rewritten to name the same module under it, so the
  library's tools and inferencers read it as one of theirs;
* ``<name>.pth``: the task model's checkpoint (the cascade's ``task_model.*`` weights, its
  ``meta``), loadable as any checkpoint of that model;
* ``<name>_denoiser.pth``: the denoiser's weights (the cascade's ``denoiser.*``), named in the
  config as ``'{{ fileDirname }}/<name>_denoiser.pth'`` and loaded when the model is built.
"""
import copy
import os
import os.path as osp
from typing import Dict, List, Optional, Union

import torch
import mmengine.registry as root_registries
from mmengine.config import Config, ConfigDict
from mmengine.registry import Registry, init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from mmsemdenoise.registry import MODELS, SCOPE
from mmsemdenoise.utils.weights import resolve_checkpoint, state_dict_of

#: The cascade's own outputs these metrics read (denoised/clean images, clean predictions).
CASCADE_ONLY_METRICS = ('PSNR', 'SSIM', 'CleanAgreement')


def _type_name(cfg) -> str:
    return str(cfg.get('type', '')) if isinstance(cfg, dict) else type(cfg).__name__


def _task_metrics(evaluator, default_scope: str):
    """The evaluator config without the metrics that read the cascade's outputs."""

    def keep(metric) -> bool:
        scope, key = Registry.split_scope_key(_type_name(metric))
        ours = scope == SCOPE or (scope is None and default_scope == SCOPE)
        return not (ours and key in CASCADE_ONLY_METRICS)

    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        return dict(evaluator, metrics=_task_metrics(evaluator['metrics'], default_scope))
    if isinstance(evaluator, (list, tuple)):
        return [m for m in evaluator if keep(m)]
    return evaluator if evaluator is None or keep(evaluator) else []


def _roots() -> List[Registry]:
    return [r for r in vars(root_registries).values()
            if isinstance(r, Registry) and r.parent is None]


def _defines(scope: str, key: str, unlike_root: bool = False) -> bool:
    """Whether a registry of ``scope`` itself (not its root) holds a module named ``key``
    (with ``unlike_root``: another module than the root registry's of that name)."""
    for root in _roots():
        child = root._children.get(scope)
        if child is None:
            continue
        child.import_from_location()
        if key not in child.module_dict:
            continue
        if not unlike_root or (key in root.module_dict
                               and root.module_dict[key] is not child.module_dict[key]):
            return True
    return False


def _rescoped(node, old: str, new: str):
    """The config ``node`` with every ``type`` (and ``constructor``) written for default scope
    ``old`` rewritten for default scope ``new`` so that it names the same module.

    ``new.X`` loses its prefix; an unprefixed ``X`` that ``old`` itself defines gets ``old.``;
    one that came from mmengine's root and that ``new`` defines as another module gets
    ``mmengine.`` (mmseg's ``LoadAnnotations`` is not mmcv's). Dicts
    with a ``_scope_`` key fix their own scope and are left as they are.
    """
    if isinstance(node, (list, tuple)):
        return type(node)(_rescoped(item, old, new) for item in node)
    if not isinstance(node, dict) or '_scope_' in node:
        return node
    out = {key: _rescoped(value, old, new) for key, value in node.items()}
    for field in ('type', 'constructor'):  # an optim wrapper names its constructor
        if not isinstance(out.get(field), str):
            continue
        scope, key = Registry.split_scope_key(out[field])
        if scope == new:
            out[field] = key
        elif scope is None and old != new:
            if _defines(old, key):
                out[field] = f'{old}.{key}'
            elif _defines(new, key, unlike_root=True):
                out[field] = f'mmengine.{key}'
    return out


def _task_scope(task: dict) -> Optional[str]:
    scope, _ = Registry.split_scope_key(_type_name(task))
    return task.get('_scope_') or scope


def _task_preprocessor(model: ConfigDict, source: str) -> dict:
    """The task model's data preprocessor config, as the cascade hands it to the task model."""
    task = model.task_model
    cfg = task.get('data_preprocessor') or model.get('task_data_preprocessor')
    if not cfg:
        raise ValueError(f'{source}: the cascade names no data preprocessor of its task model '
                         '(model.task_model.data_preprocessor or model.task_data_preprocessor)')
    cfg = copy.deepcopy(dict(cfg))
    if 'type' not in cfg:
        if _task_scope(task) != 'mmpretrain':
            raise ValueError(f"{source}: the task model's data preprocessor has no 'type'")
        cfg['type'] = 'mmpretrain.ClsDataPreprocessor'  # what ImageClassifier sets
    return cfg


def deployment_config(cfg: Config,
                      denoiser_checkpoint: str,
                      keep_test_noise: bool = False,
                      load_from: Optional[str] = None) -> Config:
    """The config of the task model with the cascade's denoiser as its data preprocessor.

    Args:
        cfg (Config): A config whose ``model`` is a :class:`DenoisingCascade` with a
            ``task_model``.
        denoiser_checkpoint (str): What ``DenoisingDataPreprocessor.denoiser_checkpoint`` says.
        keep_test_noise (bool): Keep the cascade's test noise (seeded per image with its
            ``eval_seed``), to reproduce its evaluation; otherwise inputs are taken as they are.
            Defaults to False.
        load_from (str, optional): The config's ``load_from`` (mmpretrain's
            ``get_model(cfg, pretrained=True)`` reads it). Defaults to None.

    Returns:
        Config: A new config; ``cfg`` is unchanged.

    Raises:
        ValueError: If ``cfg.model`` is no cascade with a task model and a denoiser.
    """
    source = cfg.filename or 'config'
    model = cfg.get('model') or {}
    if _type_name(model).split('.')[-1] != 'DenoisingCascade':
        raise ValueError(f'{source}: model.type is {_type_name(model)!r}, expected a '
                         'DenoisingCascade')
    if not model.get('task_model') or not model.get('denoiser'):
        raise ValueError(f'{source}: the cascade needs a task_model and a denoiser to export')
    denoiser = copy.deepcopy(dict(model.denoiser))
    denoiser.pop('init_cfg', None)
    pixels = model.get('data_preprocessor') or {}
    preprocessor = dict(
        type=f'{SCOPE}.DenoisingDataPreprocessor',
        denoiser=denoiser,
        denoiser_checkpoint=denoiser_checkpoint,
        task_preprocessor=_task_preprocessor(model, source),
        bgr_to_rgb=pixels.get('bgr_to_rgb', True),
        channels_last=model.get('channels_last', True))
    noise = (model.get('test_noise') or model.get('noise')) if keep_test_noise else None
    if noise:
        preprocessor.update(noise=copy.deepcopy(dict(noise)), eval_seed=model.get('eval_seed', 0))
    task = copy.deepcopy(model.task_model.to_dict())
    task['data_preprocessor'] = preprocessor
    out = copy.deepcopy(cfg.to_dict())
    out['model'] = task
    out['data_preprocessor'] = None  # inside the model now (mmpretrain keeps it at the top)
    old_scope = out.get('default_scope') or 'mmengine'
    for key in ('val_evaluator', 'test_evaluator'):
        if key in out:
            out[key] = _task_metrics(out[key], old_scope)
    new_scope = _task_scope(task)
    if new_scope and new_scope != old_scope:  # a config of the task's library, as its tools
        out = _rescoped(out, old_scope, new_scope)  # expect (e.g. 'LoadAnnotations' by name)
        out['default_scope'] = new_scope
    imports = dict(out.get('custom_imports') or {})  # for upstream tools that don't import us
    modules = list(imports.get('imports', []))
    imports['imports'] = modules if SCOPE in modules else modules + [SCOPE]
    out['custom_imports'] = imports
    if load_from is not None:
        out['load_from'] = load_from
    return Config(out)


def export_cascade(config: Union[str, Config],
                   checkpoint: str,
                   out_dir: str,
                   name: Optional[str] = None,
                   keep_test_noise: bool = False,
                   force: bool = False) -> Dict[str, str]:
    """Write a trained cascade as a task-model config + checkpoint + denoiser weights.

    The outputs are checked before returning: the written config is read back, its model built
    (the denoiser file loads strictly when the preprocessor is built) and the task checkpoint
    loaded strictly.

    Args:
        config (str | Config): The cascade's config.
        checkpoint (str): The cascade's checkpoint file, or its run's work dir (the last
            checkpoint).
        out_dir (str): Folder for the three files (created).
        name (str, optional): Their base name. Defaults to the config's file name.
        keep_test_noise (bool): See :func:`deployment_config`. Defaults to False.
        force (bool): Replace existing outputs. Defaults to False.

    Returns:
        dict: Paths ``config``, ``checkpoint`` and ``denoiser``.

    Raises:
        FileExistsError: If an output exists and ``force`` is False (nothing is written).
        KeyError: If the checkpoint holds no ``denoiser.*`` or no ``task_model.*`` weights.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if name is None:
        if not cfg.filename:
            raise ValueError('export_cascade: pass name= for a config that is not from a file')
        name = osp.splitext(osp.basename(cfg.filename))[0]
    paths = dict(config=osp.join(out_dir, f'{name}.py'),
                 checkpoint=osp.join(out_dir, f'{name}.pth'),
                 denoiser=osp.join(out_dir, f'{name}_denoiser.pth'))
    existing = [p for p in paths.values() if osp.exists(p)]
    if existing and not force:
        raise FileExistsError(f'{", ".join(existing)} exist(s); pass force=True (--force) to '
                              'replace them')
    deploy = deployment_config(cfg, f'{{{{ fileDirname }}}}/{name}_denoiser.pth',
                               keep_test_noise, load_from=f'{{{{ fileDirname }}}}/{name}.pth')
    source = resolve_checkpoint(checkpoint)
    loaded = CheckpointLoader.load_checkpoint(source, map_location='cpu')
    state = state_dict_of(loaded, source)
    parts = {}
    for part in ('denoiser', 'task_model'):
        parts[part] = {k[len(part) + 1:]: v for k, v in state.items()
                       if k.startswith(part + '.')}
        if not parts[part]:
            raise KeyError(f'{source}: no {part}.* weights; expected a DenoisingCascade '
                           'checkpoint')
    meta = dict(loaded.get('meta') or {}) if isinstance(loaded, dict) else {}
    meta['exported_from'] = dict(config=cfg.filename, checkpoint=source)
    os.makedirs(out_dir, exist_ok=True)
    torch.save({'meta': meta, 'state_dict': parts['denoiser']}, paths['denoiser'])
    torch.save({'meta': meta, 'state_dict': parts['task_model']}, paths['checkpoint'])
    deploy.dump(paths['config'])
    _check_export(paths)
    return paths


def _check_export(paths: Dict[str, str]) -> None:
    """Build the exported model from the written config and load its checkpoint strictly."""
    cfg = Config.fromfile(paths['config'])
    init_default_scope(cfg.get('default_scope', SCOPE))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, paths['checkpoint'], map_location='cpu', strict=True)

