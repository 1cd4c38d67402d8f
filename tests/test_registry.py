"""The mmsemdenoise scope: registries, default scope, and reaching mmseg/mmpretrain from it."""
import mmengine.registry as root
import pytest
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import DefaultScope, init_default_scope

import mmsemdenoise
from mmsemdenoise import registry
from mmsemdenoise.utils import register_all_modules

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
    assert root.RUNNERS.__class__ is child.__class__


def test_import_enables_package_config_prefix():
    assert MODULE2PACKAGE['mmsemdenoise'] == 'mmsemdenoise'
    assert mmsemdenoise.__version__


def test_register_all_modules_sets_scope_and_registers():
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'mmsemdenoise'
    for name in ['DenoisingCascade', 'PixelPreprocessor', 'JointLoss', 'MSELoss']:
        assert registry.MODELS.get(name) is not None, name
    assert registry.OPTIM_WRAPPER_CONSTRUCTORS.get('TrainableParamsOptimWrapperConstructor')


def test_modules_register_on_first_lookup_through_locations():
    # a fresh lookup by name imports the location, no explicit import needed
    assert registry.MODELS.get('JointLoss').__module__.startswith('mmsemdenoise.models')
    assert registry.METRICS._locations == ['mmsemdenoise.evaluation']


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
