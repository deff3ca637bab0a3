# Copyright (c) mmmim contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .load_check_hook import LoadCheckHook
from .non_finite_guard_hook import NonFiniteGuardHook
from .online_knn_hook import OnlineKNNHook
from .random_state_hook import RandomStateHook
from .reconstruction_hook import ReconstructionVisHook

__all__ = [
    'AtomicCheckpointHook',
    'LoadCheckHook',
    'NonFiniteGuardHook',
    'OnlineKNNHook',
    'RandomStateHook',
    'ReconstructionVisHook',
]
