# Copyright (c) mmmim contributors. All rights reserved.
"""Registry nodes and cross-scope builds (design section 4)."""

import pytest
import torch
from mmengine import registry as mmengine_registry
from mmengine.registry import DefaultScope

from mmmim import registry as mmmim_registry

from .installed import require

NODE_NAMES = [name for name in mmmim_registry.__all__]


@pytest.mark.parametrize('name', NODE_NAMES)
def test_every_node_is_a_direct_child_of_the_mmengine_root(name):
    node = getattr(mmmim_registry, name)
    root = getattr(mmengine_registry, name)
    assert node.scope == 'mmmim'
    assert node.parent is root
    assert root._children['mmmim'] is node
    assert node._locations, f'{name} has no lazy-import locations'


def _build_in_scope(scope: str, registry, cfg: dict):
    instance_name = f'test-{scope}-{id(cfg)}'
    with DefaultScope.overwrite_default_scope(scope):
        DefaultScope.get_instance(instance_name, scope_name=scope)
        return registry.build(cfg)


TINY_MAE_VIT = dict(
    type='mmmim.MAEViT',
    arch=dict(
        embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64
    ),
    img_size=32,
    patch_size=8,
)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain'])
def test_foreign_scope_builds_mmmim_component_with_nested_children(scope):
    """A config of another library names ``mmmim.X``; X builds its own
    children (the mask generator) without a prefix in the caller's scope."""
    require(scope)
    foreign_models = mmengine_registry.MODELS
    backbone = _build_in_scope(scope, foreign_models, dict(TINY_MAE_VIT))
    assert type(backbone).__module__.startswith('mmmim.')
    latent, mask = backbone(torch.rand(2, 3, 32, 32))
    # 16 patches at 75% masking: 4 visible + cls.
    assert latent.shape == (2, 5, 32)
    assert mask.dtype == torch.bool and mask.sum(1).tolist() == [12, 12]


def test_mmdet_registry_reaches_mmmim_components():
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS

    backbone = _build_in_scope('mmdet', MMDET_MODELS, dict(TINY_MAE_VIT))
    assert type(backbone).__name__ == 'MAEViT'
    generator = _build_in_scope(
        'mmdet',
        MMDET_TASK_UTILS,
        dict(type='mmmim.RandomMaskGenerator', mask_ratio=0.5),
    )
    assert generator(3, (4, 4)).sum(1).tolist() == [8, 8, 8]


def test_mmseg_registry_reaches_mmmim_components():
    require('mmseg')
    from mmseg.registry import MODELS as MMSEG_MODELS

    backbone = _build_in_scope('mmseg', MMSEG_MODELS, dict(TINY_MAE_VIT))
    assert type(backbone).__name__ == 'MAEViT'


def test_mmmim_scope_builds_foreign_components_by_scoped_name():
    from mmmim.registry import MODELS

    preprocessor = _build_in_scope(
        'mmmim',
        MODELS,
        dict(
            type='mmpretrain.SelfSupDataPreprocessor',
            mean=[0, 0, 0],
            std=[1, 1, 1],
        ),
    )
    assert type(preprocessor).__module__.startswith('mmpretrain.')


def test_unknown_component_error_names_the_registry():
    from mmmim.registry import MODELS

    with pytest.raises(KeyError, match='MAEViTT'):
        _build_in_scope('mmmim', MODELS, dict(type='MAEViTT'))


def test_register_all_modules_sets_scope():
    from mmmim.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'mmmim'
    from mmmim.registry import MODELS, TASK_UTILS, TRANSFORMS

    assert MODELS.get('MAEViT') is not None
    assert TASK_UTILS.get('RandomMaskGenerator') is not None
    assert TRANSFORMS.get('GenerateMask') is not None
