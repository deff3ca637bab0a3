# Copyright (c) mmmim contributors. All rights reserved.
"""FSDP2 sharding pieces in one process: which modules become units, the
mixed-precision policy, start-up errors on strategy typos, parameter names
(layer decay) after sharding, and the optimizer-state layouts of full
checkpoints. Training on two processes is in
tests/test_tools/test_fsdp2_train.py."""

import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config

from mmmim.engine.config_check import ConfigKeyError, check_config
from mmmim.engine.strategies import fsdp2_sharding
from mmmim.engine.strategies.fsdp2_checkpoint import (
    optim_to_indexed,
    optim_to_named,
)
from mmmim.engine.strategies.fsdp2_sharding import (
    apply_fsdp2,
    build_mp_policy,
    find_blocks,
)
from mmmim.registry import MODELS

from ..test_tools.conftest import REPO_ROOT

CONFIGS = REPO_ROOT / 'tests' / 'data' / 'configs'


def _model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(CONFIGS / name)).model)


@pytest.fixture
def one_rank_group(tmp_path):
    """A gloo process group of one rank, torn down after the test."""
    assert not dist.is_initialized()
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0, world_size=1
    )
    try:
        yield
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize('config', ['mae_tiny_ddp.py', 'videomae_tiny_ddp.py'])
def test_every_encoder_and_decoder_block_is_a_unit(config):
    model = _model(config)
    blocks = find_blocks(model)
    # 2 encoder blocks and 1 decoder block in the tiny configs.
    decoder = getattr(model.neck, 'decoder_blocks', None) or model.neck.blocks
    assert blocks == [*model.backbone.blocks, *decoder]
    # Classes work as well as names; a block inside a block is skipped.
    assert find_blocks(model, [type(blocks[0])]) == blocks
    outer = torch.nn.Sequential(model.backbone.blocks)
    assert find_blocks(outer, ['ModuleList', 'Block']) == [outer[0]]


def test_a_model_without_blocks_is_refused():
    with pytest.raises(ValueError, match='block_types'):
        apply_fsdp2(torch.nn.Linear(2, 2))


def test_mixed_precision_policy_from_a_config_dict():
    policy = build_mp_policy(
        dict(param_dtype='bfloat16', reduce_dtype='float32')
    )
    assert policy.param_dtype is torch.bfloat16
    assert policy.reduce_dtype is torch.float32
    assert build_mp_policy(None).param_dtype is None  # fp32
    with pytest.raises(ValueError, match='not a dtype'):
        build_mp_policy(dict(param_dtype='bf61'))
    with pytest.raises(ValueError, match='unknown mp_policy keys'):
        build_mp_policy(dict(param_type='bfloat16'))


def _flexible(strategy: dict) -> Config:
    return Config(dict(runner_type='FlexibleRunner', strategy=strategy))


def test_strategy_typos_fail_the_config_check():
    check_config(_flexible(dict(type='mmmim.FSDP2Strategy')))
    with pytest.raises(ConfigKeyError, match='Did you mean: mp_policy'):
        check_config(
            _flexible(dict(type='mmmim.FSDP2Strategy', mp_polcy=None))
        )
    with pytest.raises(ConfigKeyError, match='FSDP2Strategy'):
        check_config(_flexible(dict(type='mmmim.FSDP2Stratgy')))
    # Arguments of mmengine's base classes, through **kwargs, are valid.
    check_config(_flexible(dict(type='mmmim.FSDP2Strategy', sync_bn=None)))
    check_config(_flexible(dict(type='DDPStrategy')))


def test_strategy_value_typos_fail_before_the_process_group():
    from mmmim.engine.strategies import FSDP2Strategy

    with pytest.raises(ValueError, match='not a dtype'):
        FSDP2Strategy(mp_policy=dict(param_dtype='bf61'))
    with pytest.raises(ValueError, match='checkpoint_format'):
        FSDP2Strategy(checkpoint_format='shraded')
    assert not dist.is_initialized()


def test_layer_decay_groups_keep_their_names_after_sharding(
    one_rank_group,
):
    from mmmim.engine.optimizers import LayerDecayOptimWrapperConstructor

    def groups(model):
        constructor = LayerDecayOptimWrapperConstructor(
            dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05)),
            dict(layer_decay_rate=0.75),
        )
        names = {id(p): n for n, p in model.named_parameters()}
        wrapper = constructor(model)
        return sorted(
            (
                tuple(names[id(p)] for p in g['params']),
                g['lr'],
                g['weight_decay'],
            )
            for g in wrapper.optimizer.param_groups
        )

    model = _model('mae_tiny_ddp.py')
    plain = groups(model)
    apply_fsdp2(model, activation_checkpointing=True)
    from torch.distributed.tensor import DTensor

    assert all(isinstance(p, DTensor) for p in model.parameters())
    assert groups(model) == plain
    assert len({lr for _, lr, _ in plain}) > 2  # the decay is in effect


def test_sharded_entry_methods_gather_like_forward(one_rank_group):
    """mmmim's train_step calls ``loss``, not ``forward``: the root's
    parameters (patch embedding) must be gathered there too."""
    model = _model('mae_tiny_ddp.py')
    inputs = torch.randn(2, 3, 32, 32)
    torch.manual_seed(1)
    expected = model.loss(inputs)['loss']
    apply_fsdp2(model)
    torch.manual_seed(1)
    loss = model.loss(inputs)['loss']
    torch.testing.assert_close(loss, expected)
    loss.backward()
    # And nested entries (forward -> loss -> reconstruct) do not nest.
    torch.manual_seed(1)
    out = model(inputs, mode='loss')['loss']
    torch.testing.assert_close(out, expected)


def test_full_optimizer_state_round_trips_between_layouts():
    model = _model('mae_tiny_ddp.py')
    optimizer = torch.optim.AdamW(
        [
            dict(params=list(model.backbone.parameters()), lr=1e-4),
            dict(params=list(model.neck.parameters())),
        ],
        lr=1e-3,
    )
    model.loss(torch.randn(2, 3, 32, 32))['loss'].backward()
    optimizer.step()
    indexed = optimizer.state_dict()
    named = optim_to_named(indexed, model, optimizer)
    assert all(isinstance(k, str) for k in named['state'])
    assert named['param_groups'][1]['params'][0].startswith('neck.')
    again = optim_to_indexed(named, model, optimizer)
    assert again['param_groups'] == indexed['param_groups']
    assert again['state'].keys() == indexed['state'].keys()
    for key, state in indexed['state'].items():
        torch.testing.assert_close(again['state'][key], state)


def test_the_sharding_function_has_the_planned_signature():
    import inspect

    params = inspect.signature(fsdp2_sharding.apply_fsdp2).parameters
    assert list(params) == [
        'model',
        'mesh',
        'mp_policy',
        'activation_checkpointing',
        'reshard_after_forward',
        'block_types',
        'cast_root_inputs',
    ]
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for name, p in params.items()
        if name != 'model'
    )


def test_a_killed_sharded_save_leaves_a_folder_that_is_cleaned(tmp_path):
    import os
    import time

    from mmmim.engine.resume import find_resume_checkpoint
    from mmmim.utils.stale_files import (
        checkpoints_beyond_limit,
        stale_partial_files,
    )

    partial = tmp_path / '.iter_4.pth.partial'
    partial.mkdir()
    (partial / '__0_0.distcp').write_bytes(b'x')
    old = time.time() - 60
    os.utime(partial, (old, old))
    assert stale_partial_files(str(tmp_path), time.time()) == [str(partial)]
    # Complete folders count as checkpoints for rotation and --resume.
    for step in (2, 3):
        folder = tmp_path / f'iter_{step}.pth'
        folder.mkdir()
        (folder / '.metadata').write_bytes(b'')
        (folder / 'extra.pth').write_bytes(b'')
    beyond = checkpoints_beyond_limit(str(tmp_path), 'iter_{}.pth', 1)
    assert beyond == [str(tmp_path / 'iter_2.pth')]
    (tmp_path / 'last_checkpoint').write_text('iter_3.pth')
    found = find_resume_checkpoint(str(tmp_path))
    assert found == str(tmp_path / 'iter_3.pth')


def test_sharded_classifier_fine_tunes_in_bf16(one_rank_group):
    """mmpretrain's ImageClassifier (fine-tuning) steps through
    ``forward``: one update of the FSDP2 fine-tuning config, bf16 policy,
    layer decay, gradient clipping."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample

    from ..test_configs.test_cls_configs import CLS_DIR, tiny_model_cfg

    cfg = Config.fromfile(
        str(CLS_DIR / 'vit-huge-p14_8xb128-fsdp2-coslr-50e_in1k.py')
    )
    with DefaultScope.overwrite_default_scope('mmmim'):
        torch.manual_seed(0)
        model = MODELS.build(tiny_model_cfg(cfg))
        model.init_weights()
        apply_fsdp2(model, mp_policy=cfg.strategy.mp_policy)
        optim_cfg = dict(cfg.optim_wrapper, clip_grad=dict(max_norm=1.0))
        wrapper = build_optim_wrapper(model, optim_cfg)
    size = model.backbone.patch_size * 2
    data = dict(
        inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)] * 2,
        data_samples=[DataSample().set_gt_label(i) for i in (1, 3)],
    )
    before = model.head.fc.weight.full_tensor().clone()
    log = model.train_step(data, wrapper)
    assert torch.isfinite(log['loss'])
    assert not torch.equal(model.head.fc.weight.full_tensor(), before)
    # Parameters stay fp32 shards; the blocks computed in bf16.
    assert model.head.fc.weight.dtype is torch.float32
