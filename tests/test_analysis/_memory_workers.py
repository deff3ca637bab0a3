# Copyright (c) mmmim contributors. All rights reserved.
"""Processes of the memory planner tests: a 2-rank gloo run on the CPU
that shards a tiny model with ``apply_fsdp2`` (or wraps it in DDP), takes
one AdamW step and writes the bytes each rank really holds."""

import json
import os

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

#: Tiny models with odd widths (uneven FSDP2 chunks, empty last shards)
#: built from the demo configs.
CONFIGS = {
    'mae': (
        'configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py',
        {
            'model.backbone.arch.embed_dims': 36,
            'model.backbone.arch.num_layers': 3,
            'model.backbone.arch.num_heads': 3,
            'model.backbone.arch.feedforward_channels': 75,
            'model.neck.embed_dims': 36,
            'model.neck.decoder_embed_dims': 20,
            'model.neck.decoder_num_heads': 2,
        },
    ),
    'videomae': (
        'configs/videomae/videomae_vit-tiny-p8_1xb8-coslr-demo.py',
        {
            'model.backbone.arch.embed_dims': 36,
            'model.backbone.arch.num_layers': 2,
            'model.backbone.arch.num_heads': 3,
            'model.backbone.arch.feedforward_channels': 75,
            'model.neck.embed_dims': 36,
            'model.neck.decoder_embed_dims': 20,
            'model.neck.decoder_num_heads': 2,
        },
    ),
}


def load_config(name: str):
    """The tiny config ``name`` of :data:`CONFIGS`."""
    from mmengine.config import Config

    path, options = CONFIGS[name]
    cfg = Config.fromfile(os.path.join(REPO, path))
    cfg.merge_from_dict(options)
    return cfg


def storage_bytes(tensors) -> int:
    """Bytes of the distinct storages behind ``tensors`` (DTensors by
    their local shard)."""
    seen, total = set(), 0
    for tensor in tensors:
        if hasattr(tensor, 'to_local'):
            tensor = tensor.to_local()
        storage = tensor.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if storage.nbytes() and key not in seen:
            seen.add(key)
            total += storage.nbytes()
    return total


def held_bytes(model, optimizer) -> dict:
    """Parameters, gradients and optimizer states one rank holds."""
    params = list(model.parameters())
    states = [
        value
        for state in optimizer.state.values()
        for value in state.values()
        if torch.is_tensor(value)
    ]
    steps = [
        v
        for s in optimizer.state.values()
        for k, v in s.items()
        if k == 'step'
    ]
    return dict(
        params=storage_bytes(params),
        grads=storage_bytes(p.grad for p in params if p.grad is not None),
        optimizer=storage_bytes(states),
        steps=storage_bytes(steps),
        step_devices=sorted({str(s.device) for s in steps}),
    )


def run_rank(
    rank: int,
    world: int,
    port: int,
    name: str,
    kind: str,
    fused: bool,
    out_dir: str,
    mixed: bool = False,
) -> None:
    """One rank: build, shard or wrap, step once, write the bytes;
    ``mixed``: FSDP2 with bf16 parameters, fp32 reduction and activation
    checkpointing."""
    import torch.distributed as dist
    from mmengine.registry import MODELS, DefaultScope

    from mmmim.utils import register_all_modules

    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        register_all_modules(init_default_scope=False)
        cfg = load_config(name)
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmmim'):
            model = MODELS.build(cfg.model).train()
        if kind == 'fsdp2':
            from mmmim.engine.strategies.fsdp2_sharding import apply_fsdp2

            mp_policy = None
            if mixed:
                mp_policy = dict(
                    param_dtype='bfloat16', reduce_dtype='float32'
                )
            apply_fsdp2(
                model, mp_policy=mp_policy, activation_checkpointing=mixed
            )
            trained = model
        else:
            trained = torch.nn.parallel.DistributedDataParallel(model)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params,
            lr=1e-3,
            betas=(0.9, 0.95),
            weight_decay=0.05,
            fused=fused,
        )
        from mmmim.analysis.memory import input_shape

        torch.manual_seed(1 + rank)
        inputs = torch.randn(2, *input_shape(model))
        if kind == 'fsdp2':
            loss = trained.loss(inputs)['loss']
        else:
            loss = trained(inputs, mode='loss')['loss']
        loss.backward()
        optimizer.step()
        with open(os.path.join(out_dir, f'{rank}.json'), 'w') as f:
            json.dump(held_bytes(model, optimizer), f)
    finally:
        dist.destroy_process_group()
