"""The mmsemdenoise scope: registries, default scope, and reaching mmseg/mmpretrain from it."""
import subprocess
import sys

import mmengine.registry as root
import pytest
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import DefaultScope, init_default_scope

import mmsemdenoise
from mmsemdenoise import register_all_modules, registry

REGISTRY_NAMES = ['RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'DATASETS',
                  'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
                  'TASK_UTILS', 'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
                  'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS',
                  'INFERENCERS']


@pytest.mark.parametrize('name', REGISTRY_NAMES)
def test_registries_are_children_of_mmengine_roots(name):
    child = getattr(registry, name)
    assert child.scope == 'mmsemdenoise'
    assert child.parent is getattr(root, name)
    # the root finds what our scope registers under the scope's prefix (what lets upstream
    # tools build `type='mmsemdenoise.X'`), here with a class registered just for this test
    marker = type(f'_Marker{name}', (), {})
    child.register_module(module=marker)
    try:
        assert getattr(root, name).get(f'mmsemdenoise.{marker.__name__}') is marker
    finally:
        child._module_dict.pop(marker.__name__)


def test_import_enables_package_config_prefix_and_version_matches_install():
    from importlib.metadata import version

    from packaging.version import Version
    assert MODULE2PACKAGE['mmsemdenoise'] == 'mmsemdenoise'
    Version(mmsemdenoise.__version__)  # PEP 440, or InvalidVersion
    assert version('mmsemdenoise') == mmsemdenoise.__version__  # the metadata pip installed


@pytest.mark.parametrize('name', REGISTRY_NAMES)
def test_every_registry_names_locations(name):
    """Without ``locations`` mmengine falls back to ``mmsemdenoise.utils.register_all_modules``,
    which ``utils`` cannot hold: it would import the packages above ``utils``."""
    assert getattr(registry, name)._locations
    assert not hasattr(mmsemdenoise.utils, 'register_all_modules')


def test_register_all_modules_sets_scope_and_registers():
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'mmsemdenoise'
    for name in ['DenoisingCascade', 'PixelPreprocessor', 'JointLoss', 'MSELoss']:
        assert registry.MODELS.get(name) is not None, name
    assert registry.OPTIM_WRAPPER_CONSTRUCTORS.get('TrainableParamsOptimWrapperConstructor')


def test_modules_register_on_first_lookup_through_locations():
    """In a fresh interpreter, looking a name up imports the registry's location (nothing in
    this process could show it: every module is imported by now)."""
    code = ('import sys\n'
            'from mmsemdenoise.registry import MODELS\n'
            'assert "mmsemdenoise.models.losses" not in sys.modules, "imported too early"\n'
            'cls = MODELS.get("JointLoss")\n'
            'assert cls is not None and "mmsemdenoise.models.losses" in sys.modules\n'
            'print(cls.__module__)\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == 'mmsemdenoise.models.losses.joint_loss'


def test_upstream_modules_reachable_from_our_scope():
    import mmpretrain.models
    import mmseg.models

    init_default_scope('mmsemdenoise')
    assert registry.MODELS.get('mmseg.EncoderDecoder') is mmseg.models.EncoderDecoder
    assert registry.MODELS.get('mmpretrain.ImageClassifier') is mmpretrain.models.ImageClassifier
    # mmengine modules through the parent chain
    assert registry.OPTIMIZERS.get('SGD') is not None
    assert registry.LOOPS.get('IterBasedTrainLoop') is not None


def test_whole_upstream_model_builds_with_scope_key():
    """``_scope_='mmseg'`` switches the scope for the nested backbone/head builds too."""
    init_default_scope('mmsemdenoise')
    cfg = dict(
        type='EncoderDecoder', _scope_='mmseg',
        data_preprocessor=dict(type='SegDataPreProcessor', size=(32, 32)),
        backbone=dict(type='MobileNetV2', widen_factor=0.25, strides=(1, 2, 2, 1, 1, 1, 1),
                      dilations=(1, 1, 1, 2, 2, 4, 4), out_indices=(1, 2, 4, 6),
                      norm_cfg=dict(type='BN')),
        decode_head=dict(type='FCNHead', in_channels=80, channels=16, num_convs=1,
                         num_classes=3, in_index=3, norm_cfg=dict(type='BN')))
    model = registry.MODELS.build(cfg)
    import mmseg.models
    assert isinstance(model, mmseg.models.EncoderDecoder)
    # without the scope key the nested mmseg modules (preprocessor, backbone, heads) are
    # looked up in our scope and its parents, and are not found
    cfg.pop('_scope_')
    cfg['type'] = 'mmseg.EncoderDecoder'
    with pytest.raises(KeyError, match='not in the mmsemdenoise::model registry'):
        registry.MODELS.build(cfg)
