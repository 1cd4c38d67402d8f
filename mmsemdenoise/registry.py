"""Registries of the ``mmsemdenoise`` scope: children of mmengine's root registries.

Each child that holds modules of ours lists where they are defined (``locations``), so a config can
name them without importing the package first: the registry imports its locations on first lookup.
The other children exist so that the Runner finds a registry for the ``mmsemdenoise`` scope in every
tree and falls through to mmengine's modules (optimizers, loops, hooks) without warnings. They name
the package where such modules would live (as mmpretrain's do): for a child without ``locations``
of a scope in ``MODULE2PACKAGE`` (ours is, for ``mmsemdenoise::`` configs), mmengine 0.10 falls back
to calling ``mmsemdenoise.utils.register_all_modules``, which does not exist: ``utils`` imports
nothing above it, and :func:`~mmsemdenoise.register_all_modules` lives at the package root.

Modules of mmseg or mmpretrain are reached from this scope in two ways:

* ``type='mmseg.CrossEntropyLoss'`` -- a scope prefix, for a single module;
* ``_scope_='mmseg'`` on a dict -- switches the default scope while that dict and everything it
  builds inside (backbone, heads, losses) is built. Bases inherited with ``mmseg::`` or
  ``mmpretrain::`` carry it already, so a whole upstream model config can be used unchanged.
"""
from mmengine import registry as root
from mmengine.registry import Registry

SCOPE = 'mmsemdenoise'

RUNNERS = Registry('runner', parent=root.RUNNERS, locations=['mmsemdenoise.engine'])
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=root.RUNNER_CONSTRUCTORS,
                               locations=['mmsemdenoise.engine'])
LOOPS = Registry('loop', parent=root.LOOPS, locations=['mmsemdenoise.engine'])
HOOKS = Registry('hook', parent=root.HOOKS, locations=['mmsemdenoise.engine'])
LOG_PROCESSORS = Registry('log_processor', parent=root.LOG_PROCESSORS,
                          locations=['mmsemdenoise.engine'])

DATASETS = Registry('dataset', parent=root.DATASETS, locations=['mmsemdenoise.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=root.DATA_SAMPLERS,
                         locations=['mmsemdenoise.datasets'])
TRANSFORMS = Registry('transform', parent=root.TRANSFORMS, locations=['mmsemdenoise.datasets'])

#: Denoisers, noise models, losses, data preprocessors and cascades.
MODELS = Registry('model', parent=root.MODELS, locations=['mmsemdenoise.models'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=root.MODEL_WRAPPERS,
                          locations=['mmsemdenoise.models'])
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=root.WEIGHT_INITIALIZERS,
                               locations=['mmsemdenoise.models'])
TASK_UTILS = Registry('task util', parent=root.TASK_UTILS, locations=['mmsemdenoise.models'])

OPTIMIZERS = Registry('optimizer', parent=root.OPTIMIZERS, locations=['mmsemdenoise.engine'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=root.OPTIM_WRAPPERS,
                          locations=['mmsemdenoise.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=root.OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmsemdenoise.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=root.PARAM_SCHEDULERS,
                            locations=['mmsemdenoise.engine'])

#: PSNR / SSIM metrics.
METRICS = Registry('metric', parent=root.METRICS, locations=['mmsemdenoise.evaluation'])
EVALUATOR = Registry('evaluator', parent=root.EVALUATOR, locations=['mmsemdenoise.evaluation'])

VISUALIZERS = Registry('visualizer', parent=root.VISUALIZERS, locations=['mmsemdenoise.engine'])
VISBACKENDS = Registry('vis_backend', parent=root.VISBACKENDS, locations=['mmsemdenoise.engine'])
INFERENCERS = Registry('inferencer', parent=root.INFERENCERS, locations=['mmsemdenoise.apis'])
