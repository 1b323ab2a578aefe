"""`import shike_mm` registers its components into MMPretrain's registries."""
import importlib

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope
from mmpretrain import registry as mmpretrain_registry

import shike_mm

EXPECTED = {
    'MODELS': [
        'CIFARResNet', 'DKFNeck', 'ConvNeXtExpertStage', 'SwinExpertStage',
        'ViTExpertStage', 'SHIKEHead', 'DKTLoss', 'MutualKDLoss',
        'BalancedSoftmaxLoss', 'LogitAdjustedLoss', 'CosineClsHead',
        'AdaptFormerModel', 'ExpertAdaptFormerModel', 'ExpertLoRAModel',
        'PretrainedBase', 'AverageLogitTTA'
    ],
    'TRANSFORMS': ['CropView'],
    'DATASETS':
    ['CIFAR10LT', 'CIFAR100LT', 'ImageNetLT', 'PlacesLT', 'INaturalist2018'],
    'DATA_SAMPLERS': ['ClassAwareSampler'],
    'METRICS': ['LongTailMetric'],
    'HOOKS': ['SHIKEStageSwitchHook', 'AtomicCheckpointHook'],
}


@pytest.mark.parametrize('registry_name', sorted(EXPECTED))
def test_names_resolve_under_the_mmpretrain_scope(registry_name):
    registry = getattr(mmpretrain_registry, registry_name)
    init_default_scope('mmpretrain')
    assert DefaultScope.get_current_instance().scope_name == 'mmpretrain'
    for name in EXPECTED[registry_name]:
        cls = registry.get(name)
        assert cls is not None, f'{name} not in {registry_name}'
        assert cls.__module__.startswith('shike_mm.'), cls.__module__
        assert registry.module_dict[name] is cls  # registered in mmpretrain


def test_every_registered_class_lives_in_its_role_folder():
    roles = {
        'MODELS': 'shike_mm.models.',
        'DATASETS': 'shike_mm.datasets.',
        'DATA_SAMPLERS': 'shike_mm.datasets.samplers.',
        'METRICS': 'shike_mm.evaluation.metrics.',
        'HOOKS': 'shike_mm.engine.hooks.',
        'TRANSFORMS': 'shike_mm.datasets.transforms.',
    }
    for registry_name, prefix in roles.items():
        registry = getattr(mmpretrain_registry, registry_name)
        ours = [
            cls for cls in registry.module_dict.values()
            if cls.__module__.startswith('shike_mm.')
        ]
        assert ours, registry_name
        for cls in ours:
            assert cls.__module__.startswith(prefix), (registry_name, cls)


def test_runtime_config_imports_the_plugin():
    cfg = Config.fromfile(
        shike_mm.utils.find_config('_base_/default_runtime.py'))
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports == dict(
        imports=['shike_mm'], allow_failed_imports=False)
    for module in cfg.custom_imports['imports']:
        importlib.import_module(module)
