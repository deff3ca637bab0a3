# Copyright (c) mmmim contributors. All rights reserved.
"""Shard a model with PyTorch's FSDP2 (``fully_shard``), one block at a time.

PyTorch does the sharding; this module only decides *what* is sharded and
how: every transformer block becomes its own FSDP unit (its parameters are
all-gathered just before the block runs and freed after it), then the root
takes the remaining parameters (patch embedding, position tables, norms,
heads). The parameter names do not change, so the layer-decay optimizer
constructor, the checkpoints and ``state_dict`` keys are those of the plain
model.
"""

import functools
from typing import Iterable, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch.distributed.fsdp import (
    MixedPrecisionPolicy,
    fully_shard,
    register_fsdp_forward_method,
)

__all__ = [
    'DEFAULT_BLOCK_TYPES',
    'apply_fsdp2',
    'build_mp_policy',
    'find_blocks',
]

# Class names of mmmim's transformer blocks: timm's ViT and BEiT blocks
# (both named ``Block``; MAE, SimMIM, VideoMAE encoders and decoders),
# WindowBlock (dense-task ViT, ConvViT stage 3) and ConvMAE's CBlock.
DEFAULT_BLOCK_TYPES = ('Block', 'WindowBlock', 'CBlock')

# Methods through which mmengine steps and mmmim tools enter a model
# without ``forward`` (mmmim's ``train_step`` calls ``loss``): they must
# gather the root's parameters as ``forward`` does.
ENTRY_METHODS = ('loss', 'predict', 'reconstruct', 'extract_feat')

_DTYPES = {
    'float32': torch.float32,
    'fp32': torch.float32,
    'bfloat16': torch.bfloat16,
    'bf16': torch.bfloat16,
    'float16': torch.float16,
    'fp16': torch.float16,
}
_MP_KEYS = (
    'param_dtype',
    'reduce_dtype',
    'output_dtype',
    'cast_forward_inputs',
)

BlockTypes = Optional[Sequence[Union[str, type]]]


def _dtype(value: Union[str, torch.dtype, None], key: str):
    if value is None or isinstance(value, torch.dtype):
        return value
    if value not in _DTYPES:
        raise ValueError(
            f'mp_policy.{key}={value!r} is not a dtype; use one of '
            f'{sorted(_DTYPES)} or a torch.dtype.'
        )
    return _DTYPES[value]


def build_mp_policy(mp_policy: Optional[dict]) -> MixedPrecisionPolicy:
    """A :class:`MixedPrecisionPolicy` from a config dict.

    Args:
        mp_policy (dict, optional): ``param_dtype``, ``reduce_dtype``,
            ``output_dtype`` (names such as ``'bfloat16'`` or torch dtypes)
            and ``cast_forward_inputs``. None keeps everything in fp32.

    Returns:
        MixedPrecisionPolicy: The policy for ``fully_shard``.

    Raises:
        ValueError: On an unknown key or dtype name.
    """
    if not mp_policy:
        return MixedPrecisionPolicy()
    unknown = sorted(set(mp_policy) - set(_MP_KEYS))
    if unknown:
        raise ValueError(
            f'unknown mp_policy keys {unknown}; expected some of {_MP_KEYS}'
        )
    kwargs = {
        key: _dtype(value, key) if key.endswith('dtype') else value
        for key, value in mp_policy.items()
    }
    return MixedPrecisionPolicy(**kwargs)


def _matches(module: nn.Module, block_types: Sequence) -> bool:
    # Names match along the MRO, like isinstance: fully_shard turns a
    # Block into a subclass FSDPBlock, and a subclass of a block is one.
    names = {klass.__name__ for klass in type(module).__mro__}
    for block_type in block_types:
        if isinstance(block_type, str):
            if block_type in names:
                return True
        elif isinstance(module, block_type):
            return True
    return False


def find_blocks(
    model: nn.Module, block_types: BlockTypes = None
) -> List[nn.Module]:
    """The outermost modules of ``model`` whose class is a block type.

    A block inside a matched block is not returned: FSDP units must not
    nest in a way that splits one block's parameters.

    Args:
        model (nn.Module): The model.
        block_types (Sequence[str | type], optional): Class names or
            classes. Defaults to :data:`DEFAULT_BLOCK_TYPES`.

    Returns:
        List[nn.Module]: The blocks in ``named_modules`` order.
    """
    block_types = tuple(block_types or DEFAULT_BLOCK_TYPES)
    blocks, inside = [], ()
    for name, module in model.named_modules():
        if inside and any(name.startswith(p) for p in inside):
            continue
        if module is not model and _matches(module, block_types):
            blocks.append(module)
            inside = inside + (name + '.',)
    return blocks


def _checkpoint_blocks(blocks: Iterable[nn.Module]) -> None:
    # The composable checkpoint adds hooks instead of a wrapper module,
    # so parameter names (layer decay, checkpoints) stay those of the
    # plain model.
    from torch.distributed._composable import checkpoint

    for block in blocks:
        checkpoint(block)


def _register_entry_methods(model: nn.Module) -> None:
    """Make :data:`ENTRY_METHODS` gather and free parameters like
    ``forward``, at the outermost call only (``forward(mode='loss')``
    calls ``loss``, ``loss`` calls ``reconstruct``: FSDP's pre- and
    post-forward must not nest)."""
    depth = [0]

    def outermost(plain, registered):
        @functools.wraps(plain)
        def call(*args, **kwargs):
            method = registered if depth[0] == 0 else plain
            depth[0] += 1
            try:
                return method(*args, **kwargs)
            finally:
                depth[0] -= 1

        return call

    for name in ENTRY_METHODS:
        if callable(getattr(model, name, None)):
            plain = getattr(model, name)
            register_fsdp_forward_method(model, name)
            setattr(model, name, outermost(plain, getattr(model, name)))
    # ``forward`` gathers through the module hooks; it only counts.
    model.forward = outermost(model.forward, model.forward)


def apply_fsdp2(
    model: nn.Module,
    *,
    mesh=None,
    mp_policy: Optional[dict] = None,
    activation_checkpointing: bool = False,
    reshard_after_forward: bool = True,
    block_types=None,
    cast_root_inputs: bool = True,
) -> nn.Module:
    """Shard ``model`` in place with FSDP2: each block, then the root.

    The process group must be initialised (``torchrun`` or mmengine's
    launcher); every rank calls this with the same model. The model's
    parameters become ``DTensor`` shards on ``mesh``; ``state_dict`` keys
    and parameter names are unchanged.

    Args:
        model (nn.Module): The model; shared parameters must live in one
            block or outside all blocks.
        mesh (DeviceMesh, optional): A 1-D data-parallel mesh. Defaults to
            one over the whole world on the default device type.
        mp_policy (dict, optional): Mixed precision, see
            :func:`build_mp_policy`, e.g. ``dict(param_dtype='bfloat16',
            reduce_dtype='float32')`` (bf16 compute, fp32 gradient
            reduction). None trains in fp32.
        activation_checkpointing (bool): Recompute each block in backward
            instead of storing its activations. Defaults to False.
        reshard_after_forward (bool): Free each block's gathered
            parameters after its forward pass (ZeRO-3); False keeps them
            until backward (ZeRO-2: more memory, one all-gather less).
            Defaults to True.
        block_types (Sequence[str | type], optional): Classes (or class
            names) that form one FSDP unit each. Defaults to
            :data:`DEFAULT_BLOCK_TYPES`.
        cast_root_inputs (bool): Cast the floating-point inputs of the
            model's entry methods to ``param_dtype`` (FSDP2's default).
            False keeps them as given, so what an algorithm derives from
            its inputs outside the blocks (MAE's normalised-pixel target
            and loss) stays in fp32 as in the official AMP recipes; the
            step must then run under autocast (``AutocastOptimWrapper``)
            for the root's own layers (patch embedding) to take bf16
            weights with fp32 inputs. Blocks always cast their inputs.
            Defaults to True.

    Returns:
        nn.Module: ``model`` itself, now an ``FSDPModule``.

    Raises:
        ValueError: If no block of ``block_types`` is found (the whole
            model would be one unit, gathered at once).
    """
    blocks = find_blocks(model, block_types)
    if not blocks:
        raise ValueError(
            f'apply_fsdp2: no module of {block_types or DEFAULT_BLOCK_TYPES} '
            f'in {type(model).__name__}; name the block classes with '
            'block_types=[...].'
        )
    if activation_checkpointing:
        _checkpoint_blocks(blocks)
    policy = build_mp_policy(mp_policy)
    for block in blocks:
        fully_shard(
            block,
            mesh=mesh,
            mp_policy=policy,
            reshard_after_forward=reshard_after_forward,
        )
    root_policy = policy
    if not cast_root_inputs:
        root_policy = MixedPrecisionPolicy(
            param_dtype=policy.param_dtype,
            reduce_dtype=policy.reduce_dtype,
            output_dtype=policy.output_dtype,
            cast_forward_inputs=False,
        )
    fully_shard(
        model,
        mesh=mesh,
        mp_policy=root_policy,
        reshard_after_forward=reshard_after_forward,
    )
    _register_entry_methods(model)
    return model
