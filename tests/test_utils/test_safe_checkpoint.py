# Copyright (c) mmmim contributors. All rights reserved.
"""Checkpoints load with weights_only=True plus an allow-list."""

import argparse
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from mmmim.utils import TRUST_ENV_VAR, safe_torch_load


class _Payload:
    """An arbitrary class: unpickling it would run import-time code."""


def _mmengine_like_checkpoint() -> dict:
    hub = MessageHub.get_instance('safe-ckpt-test')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_info('iter', 3)
    return dict(
        meta=dict(epoch=0, iter=3, seed=np.int64(7), cfg='model = 1'),
        state_dict={'w': torch.ones(2)},
        optimizer={'state': {}, 'param_groups': [{'lr': 0.1}]},
        message_hub=hub.state_dict(),
    )


def test_mmengine_checkpoint_round_trip(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(_mmengine_like_checkpoint(), path)
    # The plain safe loader of torch refuses this file ...
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    # ... mmmim's allow-list accepts exactly these types.
    ckpt = safe_torch_load(str(path))
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == 0.25
    assert ckpt['meta']['seed'] == 7


def test_mmengine_loader_is_routed_through_allow_list(tmp_path):
    import mmmim  # noqa: F401  (installs the loader)

    path = tmp_path / 'ckpt.pth'
    torch.save(_mmengine_like_checkpoint(), path)
    ckpt = _load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


@pytest.mark.parametrize(
    'payload',
    [
        argparse.Namespace(lr=0.1),
        _Payload(),
    ],
)
def test_foreign_objects_are_refused_with_a_hint(tmp_path, payload):
    import mmmim  # noqa: F401

    path = tmp_path / 'foreign.pth'
    torch.save({'model': {'w': torch.ones(1)}, 'args': payload}, path)
    with pytest.raises(pickle.UnpicklingError) as info:
        _load_checkpoint(str(path), map_location='cpu')
    message = str(info.value)
    assert 'foreign.pth' in message
    assert TRUST_ENV_VAR in message
    assert 'model_converters' in message


def test_trusted_opt_in(tmp_path, monkeypatch):
    path = tmp_path / 'foreign.pth'
    torch.save({'args': argparse.Namespace(lr=0.1)}, path)
    assert safe_torch_load(str(path), trusted=True)['args'].lr == 0.1
    monkeypatch.setenv(TRUST_ENV_VAR, '1')
    assert safe_torch_load(str(path))['args'].lr == 0.1


class _SneakyGetattr:
    """Pickles as ``getattr(HistoryBuffer, '__init__')``."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'sneaky.pth'
    torch.save({'x': _SneakyGetattr()}, path)
    with pytest.raises(pickle.UnpicklingError, match='sneaky.pth'):
        safe_torch_load(str(path))
