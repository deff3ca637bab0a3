# Copyright (c) mmmim contributors. All rights reserved.
"""The registries of mmmim.

Every node is a *direct child of the mmengine root* with ``scope='mmmim'``,
so that ``type='mmmim.X'`` resolves from an mmdet, mmseg, mmpretrain or
mmaction config (the root only sees its direct children). Components of
mmmim are imported lazily from ``locations`` on the first lookup, so this
module stays cheap to import.
"""

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
)
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import (
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS,
)
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import (
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS,
)
from mmengine.registry import Registry

__all__ = [
    'RUNNERS',
    'RUNNER_CONSTRUCTORS',
    'LOOPS',
    'STRATEGIES',
    'HOOKS',
    'LOG_PROCESSORS',
    'OPTIMIZERS',
    'OPTIM_WRAPPERS',
    'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS',
    'DATASETS',
    'DATA_SAMPLERS',
    'TRANSFORMS',
    'MODELS',
    'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS',
    'TASK_UTILS',
    'METRICS',
    'EVALUATOR',
    'VISUALIZERS',
    'VISBACKENDS',
]

SCOPE = 'mmmim'


def _child(name: str, parent: Registry, locations: list) -> Registry:
    """A registry node parented on an mmengine root with the mmmim scope."""
    return Registry(name, parent=parent, scope=SCOPE, locations=locations)


# Runtime.
RUNNERS = _child('runner', MMENGINE_RUNNERS, ['mmmim.engine'])
RUNNER_CONSTRUCTORS = _child(
    'runner constructor', MMENGINE_RUNNER_CONSTRUCTORS, ['mmmim.engine']
)
LOOPS = _child('loop', MMENGINE_LOOPS, ['mmmim.engine'])
# FlexibleRunner's distribution strategies: `type='mmmim.FSDP2Strategy'`.
STRATEGIES = _child(
    'strategy', MMENGINE_STRATEGIES, ['mmmim.engine.strategies']
)
HOOKS = _child('hook', MMENGINE_HOOKS, ['mmmim.engine.hooks'])
LOG_PROCESSORS = _child(
    'log processor', MMENGINE_LOG_PROCESSORS, ['mmmim.engine']
)
OPTIMIZERS = _child(
    'optimizer', MMENGINE_OPTIMIZERS, ['mmmim.engine.optimizers']
)
OPTIM_WRAPPERS = _child(
    'optim_wrapper', MMENGINE_OPTIM_WRAPPERS, ['mmmim.engine.optimizers']
)
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    ['mmmim.engine.optimizers'],
)
PARAM_SCHEDULERS = _child(
    'parameter scheduler',
    MMENGINE_PARAM_SCHEDULERS,
    ['mmmim.engine.optimizers'],
)

# Data.
DATASETS = _child('dataset', MMENGINE_DATASETS, ['mmmim.datasets'])
DATA_SAMPLERS = _child(
    'data sampler', MMENGINE_DATA_SAMPLERS, ['mmmim.datasets']
)
TRANSFORMS = _child(
    'transform', MMENGINE_TRANSFORMS, ['mmmim.datasets.transforms']
)

# Models. Mask generators live in TASK_UTILS, as mmdet's anchor generators.
MODELS = _child('model', MMENGINE_MODELS, ['mmmim.models'])
MODEL_WRAPPERS = _child(
    'model_wrapper', MMENGINE_MODEL_WRAPPERS, ['mmmim.models']
)
WEIGHT_INITIALIZERS = _child(
    'weight initializer', MMENGINE_WEIGHT_INITIALIZERS, ['mmmim.models']
)
TASK_UTILS = _child(
    'task util', MMENGINE_TASK_UTILS, ['mmmim.models.mask_generators']
)

# Evaluation and visualisation.
METRICS = _child('metric', MMENGINE_METRICS, ['mmmim.evaluation'])
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, ['mmmim.evaluation'])
VISUALIZERS = _child(
    'visualizer', MMENGINE_VISUALIZERS, ['mmmim.visualization']
)
VISBACKENDS = _child(
    'vis_backend', MMENGINE_VISBACKENDS, ['mmmim.visualization']
)
