# Copyright (c) mmmim contributors. All rights reserved.
"""tools/train.py stops at start-up on typos, wrong checkpoints and
resumes that would not continue the named run (before any iteration)."""

import shutil

import pytest
import torch

from .conftest import run_tool

DEMO = 'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py'


def _train(config, work_dir, *extra, expect_rc=0):
    args = ['tools/train.py', str(config), '--work-dir', str(work_dir)]
    proc = run_tool(args + list(extra), expect_rc=expect_rc)
    return proc.stdout + proc.stderr


def _fails_at_start(config, work_dir, *extra) -> str:
    log = _train(config, work_dir, *extra, expect_rc=1)
    assert 'Iter(train)' not in log  # not one iteration ran
    return log


def test_misspelt_hook_argument(tmp_path, toy_config):
    log = _fails_at_start(
        toy_config,
        tmp_path,
        '--cfg-options',
        'default_hooks.checkpoint.intreval=2',
    )
    assert (
        "unknown config key 'default_hooks.checkpoint.intreval'. "
        'Did you mean: interval?'
    ) in log


def test_misspelt_top_level_option(tmp_path, toy_config):
    log = _fails_at_start(
        toy_config, tmp_path, '--cfg-options', 'randomnes.seed=1'
    )
    assert "'randomnes.seed' (from --cfg-options). Did you mean: " in log
    assert 'randomness' in log.split('Did you mean: ')[1][:40]


def test_misspelt_top_level_key_in_a_config(tmp_path, toy_config):
    config = tmp_path / 'typo.py'
    config.write_text(f"_base_ = '{toy_config}'\nrandomnes = dict(seed=1)\n")
    log = _fails_at_start(config, tmp_path / 'run')
    assert "unknown config key 'randomnes': did you mean 'randomness'?" in log


def test_valid_options_still_train(tmp_path, toy_config):
    log = _train(
        toy_config,
        tmp_path,
        '--cfg-options',
        'default_hooks.checkpoint.interval=2',
        'randomness.seed=3',
        'train_cfg.max_iters=2',
    )
    assert 'Iter(train) [2/2]' in log


def test_every_released_config_passes_the_checks():
    from pathlib import Path

    from mmengine.config import Config

    from mmmim.engine.config_check import check_config

    repo = Path(__file__).resolve().parents[2]
    configs = [
        p
        for p in sorted((repo / 'configs').rglob('*.py'))
        if '_base_' not in p.parts
    ]
    assert len(configs) > 60
    for path in configs:
        check_config(Config.fromfile(str(path)))


def test_resume_with_nothing_to_resume(tmp_path, toy_config):
    log = _fails_at_start(toy_config, tmp_path / 'empty', '--resume')
    assert 'nothing to resume in' in log and '--resume-optional' in log
    log = _train(
        toy_config,
        tmp_path / 'empty',
        '--resume',
        '--resume-optional',
        '--cfg-options',
        'train_cfg.max_iters=1',
    )
    assert 'nothing to resume in' in log and 'Iter(train) [1/1]' in log


def test_resume_refuses_another_model_and_a_finished_run(tmp_path, toy_config):
    work_dir = tmp_path / 'run'
    _train(toy_config, work_dir)  # 6 iterations, checkpoints at 3 and 6
    log = _fails_at_start(
        toy_config,
        work_dir,
        '--resume',
        '--cfg-options',
        'train_cfg.max_iters=12',
        'model.in_features=8',
    )
    assert (
        'was written by a run of another model: model.in_features differ'
        in log
    )
    log = _fails_at_start(toy_config, work_dir, '--resume')
    assert 'is at iteration 6, and this run stops at' in log
    log = _train(
        toy_config,
        work_dir,
        '--resume',
        '--cfg-options',
        'train_cfg.max_iters=7',
    )
    assert 'Iter(train) [7/7]' in log


def test_moved_work_dir_resumes_from_its_own_files(tmp_path, toy_config):
    old = tmp_path / 'old'
    _train(
        toy_config,
        old,
        '--cfg-options',
        'custom_hooks.2.kill_iter=5',
        expect_rc=-9,
    )
    new = tmp_path / 'new'
    shutil.copytree(old, new)
    # The old folder still holds a checkpoint; make it unusable, so that a
    # resume reading the old absolute path would fail.
    (old / 'iter_3.pth').write_bytes(b'')
    log = _train(toy_config, new, '--resume')
    assert 'resumed epoch: 0, iter: 3' in log
    shutil.rmtree(old)  # and without the old folder at all
    (new / 'last_checkpoint').write_text(str(old / 'iter_3.pth'))
    log = _train(
        toy_config,
        new / '..' / 'new',
        '--resume',
        '--cfg-options',
        'train_cfg.max_iters=7',
    )
    assert 'the work dir was moved' in log


def test_load_from_must_fill_the_backbone(tmp_path, demo_data_root):
    # The demo on the fixture's data (a fresh clone has no data/demo).
    data = [
        f'train_dataloader.dataset.data_root={demo_data_root}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'custom_hooks=[]',
    ]
    # An official-format MAE file (not converted) and a neck-only one.
    from ..test_apis.official_mae import save_official_mae

    official = tmp_path / 'official.pth'
    save_official_mae(str(official))
    log = _fails_at_start(
        DEMO, tmp_path / 'a', '--cfg-options', *data, f'load_from={official}'
    )
    assert 'fills 0 of the 78 tensors of the backbone' in log
    assert 'an official checkpoint not converted?' in log
    assert 'min_backbone_fraction' in log
    # An mmmim checkpoint of another method (ConvMAE into MAE).
    from mmmim.apis import init_model

    convmae = init_model(
        'configs/convmae/convmae_convvit-tiny-p8_1xb32-coslr-demo.py'
    )
    torch.save({'state_dict': convmae.state_dict()}, tmp_path / 'conv.pth')
    log = _fails_at_start(
        DEMO,
        tmp_path / 'e',
        '--cfg-options',
        *data,
        f'load_from={tmp_path / "conv.pth"}',
    )
    assert 'a checkpoint of another method?' in log
    # Converted, it loads (one iteration runs).
    converted = tmp_path / 'converted.pth'
    run_tool(
        [
            'tools/model_converters/mae_to_mmmim.py',
            str(official),
            str(converted),
        ]
    )
    log = _train(
        DEMO,
        tmp_path / 'b',
        '--cfg-options',
        *data,
        f'load_from={converted}',
        'train_cfg.max_iters=1',
    )
    assert 'Saving checkpoint at 1 iterations' in log
    # Another size: named as such.
    small = torch.load(converted, weights_only=True)
    small['state_dict'] = {
        k: v[..., :8] if k.endswith('pos_embed') else v
        for k, v in small['state_dict'].items()
    }
    torch.save(small, tmp_path / 'small.pth')
    log = _fails_at_start(
        DEMO,
        tmp_path / 'c',
        '--cfg-options',
        *data,
        f'load_from={tmp_path / "small.pth"}',
    )
    assert 'another shape: a model of another size' in log
    # A partial load on purpose is accepted.
    log = _train(
        DEMO,
        tmp_path / 'd',
        '--cfg-options',
        *data,
        f'load_from={tmp_path / "small.pth"}',
        'default_hooks.load_check.min_backbone_fraction=0.5',
        'train_cfg.max_iters=1',
    )
    assert 'Saving checkpoint at 1 iterations' in log


@pytest.mark.parametrize('allow', [False, True, 'fc_norm_only'])
def test_init_cfg_must_fill_the_backbone(tmp_path, allow):
    from mmmim.registry import MODELS

    cfg = dict(
        type='MAEViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64
        ),
        img_size=32,
        patch_size=8,
        out_type='avg_featmap',
    )
    source = MODELS.build(cfg)
    weights = {
        f'backbone.{k}': v
        for k, v in source.state_dict().items()
        if not k.startswith(
            'fc_norm.'
            if allow == 'fc_norm_only'
            else ('blocks.1.', 'fc_norm.')
        )
    }
    torch.save({'state_dict': weights}, tmp_path / 'part.pth')
    init_cfg = dict(
        type='Pretrained',
        checkpoint=str(tmp_path / 'part.pth'),
        prefix='backbone.',
        allow_partial=allow is True,
    )
    model = MODELS.build(dict(cfg, init_cfg=init_cfg))
    if allow is False:
        with pytest.raises(ValueError, match=r'missing: blocks\.1\.'):
            model.init_weights()
        return
    model.init_weights()
    # fc_norm (new in fine-tuning) is no reason to fail; blocks.1 is.
    assert 'fc_norm.weight' in model.load_report['missing']
    assert torch.equal(
        model.blocks[0].attn.qkv.weight, source.blocks[0].attn.qkv.weight
    )


def test_resume_check_reads_only_the_meta(tmp_path):
    from mmmim.engine.resume import read_checkpoint_meta
    from mmmim.utils import CorruptCheckpointError

    path = tmp_path / 'iter_3.pth'
    big = torch.arange(1000, dtype=torch.float32)
    torch.save(
        {'meta': {'iter': 3, 'cfg': 'x = 1'}, 'state_dict': {'w': big}}, path
    )
    assert read_checkpoint_meta(str(path)) == {'iter': 3, 'cfg': 'x = 1'}
    # A legacy (non-zip) file cannot be memory-mapped: read whole.
    legacy = tmp_path / 'legacy.pth'
    torch.save(
        {'meta': {'iter': 1}}, legacy, _use_new_zipfile_serialization=False
    )
    assert read_checkpoint_meta(str(legacy)) == {'iter': 1}
    # A damaged one is reported as damaged.
    (tmp_path / 'iter_4.pth').write_bytes(path.read_bytes()[:300])
    with pytest.raises(CorruptCheckpointError):
        read_checkpoint_meta(str(tmp_path / 'iter_4.pth'))
