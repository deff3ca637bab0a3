# Copyright (c) mmmim contributors. All rights reserved.
"""A few iterations of each downstream protocol through the mmengine Runner.

Tiny encoders on random Fashion-MNIST-like IDX files written by the test:
an MAE checkpoint is loaded through ``init_cfg``, then fine-tuning, linear
probing and partial fine-tuning train what they should and nothing else.
"""

import copy
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from ..test_datasets.test_idx_dataset import write_idx

pytestmark = pytest.mark.requires('mmcv')  # mmpretrain needs it

REPO = Path(__file__).resolve().parents[2]
FINETUNE = (
    'configs/mae/benchmarks/cls/vit-mini-p4_1xb128-coslr-4e_fashion-mnist.py'
)
LINEAR = (
    'configs/mae/benchmarks/cls/'
    'vit-mini-p4_1xb256-linear-coslr-8e_fashion-mnist.py'
)
PRETRAIN = 'configs/mae/mae_vit-mini-p4_1xb128-coslr-3e_fashion-mnist.py'
TINY_ARCH = dict(
    embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64
)


@pytest.fixture(scope='module')
def fashion_root(tmp_path_factory) -> Path:
    """Random 28 x 28 images in the four Fashion-MNIST IDX files."""
    root = tmp_path_factory.mktemp('fashion-mnist')
    rng = np.random.default_rng(0)
    for prefix, n in (('train', 16), ('t10k', 8)):
        write_idx(
            root / f'{prefix}-images-idx3-ubyte.gz',
            rng.integers(0, 256, (n, 28, 28)),
        )
        write_idx(root / f'{prefix}-labels-idx1-ubyte.gz', np.arange(n) % 10)
    return root


@pytest.fixture(scope='module')
def mae_checkpoint(tmp_path_factory) -> Path:
    """A tiny MAE pre-training checkpoint (backbone.*, neck.*)."""
    from mmmim.registry import MODELS

    cfg = Config.fromfile(str(REPO / PRETRAIN))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.arch = dict(TINY_ARCH)
    model_cfg.neck.embed_dims = TINY_ARCH['embed_dims']
    model_cfg.neck.decoder_embed_dims = 32
    model_cfg.neck.decoder_num_layers = 1
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'mae.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def tiny_runner(
    config: str, root: Path, work_dir: Path, checkpoint, **backbone
) -> Runner:
    cfg = Config.fromfile(str(REPO / config))
    cfg.model.backbone.arch = dict(TINY_ARCH)
    cfg.model.backbone.update(backbone)
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoint)
    cfg.model.head.in_channels = TINY_ARCH['embed_dims']
    if cfg.model.get('neck'):
        cfg.model.neck.input_features = TINY_ARCH['embed_dims']
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.data_root = str(root)
        loader.dataset.pop('subset_size', None)
    cfg.train_dataloader.batch_size = 8  # 2 iterations per epoch
    cfg.train_cfg.max_epochs = 2
    cfg.train_cfg.val_interval = 2
    cfg.param_scheduler[-1].end = 2
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 2
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'cls_protocol_{uuid.uuid4().hex}'
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()  # load now, to compare after training
    return runner


def snapshot(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def ckpt_backbone(path: Path) -> dict:
    state = torch.load(path, weights_only=True)['state_dict']
    return {
        k[len('backbone.') :]: v
        for k, v in state.items()
        if k.startswith('backbone.')
    }


def changed(before: dict, after: dict, prefix: str) -> set:
    return {
        k
        for k in before
        if k.startswith(prefix) and not torch.equal(before[k], after[k])
    }


def train(runner: Runner) -> dict:
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert np.isfinite(loss)
    return snapshot(runner.model)


def test_finetune(tmp_path, fashion_root, mae_checkpoint):
    runner = tiny_runner(FINETUNE, fashion_root, tmp_path, mae_checkpoint)
    model = runner.model
    loaded = ckpt_backbone(mae_checkpoint)
    before = snapshot(model)
    for key, value in loaded.items():
        if key != 'norm.weight' and key != 'norm.bias':
            assert torch.equal(before[f'backbone.{key}'], value), key
    after = train(runner)
    # Everything trains: embeddings, every block, fc_norm and the head.
    for prefix in (
        'backbone.patch_embed.',
        'backbone.pos_embed',
        'backbone.blocks.0.',
        'backbone.blocks.1.',
        'backbone.fc_norm.',
        'head.fc.',
    ):
        assert changed(before, after, prefix), prefix
    # Layer-wise decay: block 0 (layer 1 of 4) starts from 0.75 ** 2 of
    # the head's lr, the embeddings from 0.75 ** 3; the schedule keeps
    # them below the head's lr (all end near the common eta_min).
    groups = {
        g['param_name']: g for g in runner.optim_wrapper.optimizer.param_groups
    }
    head = groups['head.fc.weight']
    block0 = groups['backbone.blocks.0.attn.qkv.weight']
    embed = groups['backbone.patch_embed.proj.weight']
    assert head['initial_lr'] == pytest.approx(2e-3)
    assert block0['initial_lr'] == pytest.approx(2e-3 * 0.75**2)
    assert embed['initial_lr'] == pytest.approx(2e-3 * 0.75**3)
    assert embed['lr'] < block0['lr'] < head['lr']
    metrics = runner.val_loop.run()
    assert 0 <= metrics['accuracy/top1'] <= 100


@pytest.mark.parametrize('out_type', ['avg_featmap', 'cls_token'])
def test_linear_probe(tmp_path, fashion_root, mae_checkpoint, out_type):
    runner = tiny_runner(
        LINEAR,
        fashion_root,
        tmp_path,
        mae_checkpoint,
        frozen_stages=TINY_ARCH['num_layers'],
        out_type=out_type,
        final_norm=out_type == 'cls_token',
    )
    model = runner.model
    before = snapshot(model)
    after = train(runner)
    # The encoder is exactly the checkpoint's, before and after training.
    for key, value in ckpt_backbone(mae_checkpoint).items():
        if f'backbone.{key}' in after:
            assert torch.equal(after[f'backbone.{key}'], value), key
    assert not changed(before, after, 'backbone.')
    assert changed(before, after, 'head.fc.weight')
    # BatchNorm without affine: no parameters, running statistics move.
    assert not list(model.neck.parameters())
    assert changed(before, after, 'neck.bn.running_mean')
    trained = [
        p
        for g in runner.optim_wrapper.optimizer.param_groups
        for p in g['params']
        if p.requires_grad
    ]
    assert {id(p) for p in trained} == {id(p) for p in model.head.parameters()}


def test_partial_finetune(tmp_path, fashion_root, mae_checkpoint):
    # Fine-tune the last block only (frozen_stages = num_layers - 1).
    runner = tiny_runner(
        FINETUNE,
        fashion_root,
        tmp_path,
        mae_checkpoint,
        frozen_stages=TINY_ARCH['num_layers'] - 1,
    )
    before = snapshot(runner.model)
    after = train(runner)
    for prefix in (
        'backbone.patch_embed.',
        'backbone.cls_token',
        'backbone.pos_embed',
        'backbone.blocks.0.',
    ):
        assert not changed(before, after, prefix), prefix
    for prefix in ('backbone.blocks.1.', 'backbone.fc_norm.', 'head.fc.'):
        assert changed(before, after, prefix), prefix
