# Copyright (c) mmmim contributors. All rights reserved.
"""mmengine ``FlexibleRunner`` strategy for PyTorch FSDP2 (``fully_shard``).

mmengine 0.10.7's ``FSDPStrategy`` wraps the first FSDP API, which refuses
to run without an accelerator and renames parameters unless told
otherwise. FSDP2 shards parameters as ``DTensor`` s in place: names,
``state_dict`` keys and the optimizer constructors stay those of the plain
model, and it runs on CPUs (gloo) as on GPUs (nccl).
"""

import os.path as osp
import re
from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine._strategy import DDPStrategy
from mmengine.device import get_device
from mmengine.dist import is_main_process
from mmengine.model import is_model_wrapper
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from mmmim.registry import STRATEGIES

from .fsdp2_checkpoint import (
    is_sharded_checkpoint,
    load_sharded,
    optim_to_indexed,
    optim_to_named,
    save_sharded,
)
from .fsdp2_sharding import apply_fsdp2, build_mp_policy, find_blocks

__all__ = ['FSDP2Strategy']

_FORMATS = ('sharded', 'full')


@STRATEGIES.register_module()
class FSDP2Strategy(DDPStrategy):
    """Fully sharded data parallel training with FSDP2, block by block.

    Every transformer block is one FSDP unit (its parameters gathered just
    before it runs, freed after it), the rest of the model the root unit;
    see :func:`~mmmim.engine.strategies.fsdp2_sharding.apply_fsdp2`.

    Example (a config)::

        runner_type = 'FlexibleRunner'
        strategy = dict(
            type='mmmim.FSDP2Strategy',
            mp_policy=dict(param_dtype='bfloat16', reduce_dtype='float32'),
            activation_checkpointing=True,
            checkpoint_format='sharded')

    Args:
        mp_policy (dict, optional): Mixed precision: ``param_dtype``,
            ``reduce_dtype``, ``output_dtype``, ``cast_forward_inputs``.
            None trains in fp32. ``--amp`` of ``tools/train.py`` sets bf16
            parameters with fp32 gradient reduction.
        activation_checkpointing (bool): Recompute every block in backward.
            Defaults to False.
        reshard_after_forward (bool): Free gathered block parameters after
            the forward pass (ZeRO-3); False keeps them for backward
            (ZeRO-2). Defaults to True.
        block_types (Sequence[str], optional): Class names of the blocks.
            Defaults to mmmim's transformer blocks.
        checkpoint_format (str): ``'sharded'`` (a folder per checkpoint,
            written by all ranks in parallel; resumes on any number of
            ranks) or ``'full'`` (one file gathered on rank 0, as the plain
            Runner writes it). Both load either format. Defaults to
            ``'sharded'``.
        compile (bool | dict, optional): ``torch.compile`` every block's
            forward (with these arguments if a dict); the FSDP hooks stay
            eager around it. The runner's ``cfg.compile`` does the same.
            Defaults to None (off).
        cast_root_inputs (bool): Cast the batch to ``param_dtype`` before
            the model sees it (FSDP2's default). False keeps the batch in
            fp32, so targets and losses computed from it stay fp32 as in
            the official AMP recipes; needs an autocasting optimizer
            wrapper (``mmmim.AutocastOptimWrapper``), which is checked at
            start-up. Defaults to True.
        **kwargs: :class:`mmengine._strategy.DDPStrategy` arguments
            (``sync_bn``) and the runner's (``work_dir``, ``env_kwargs``).
    """

    def __init__(
        self,
        *,
        mp_policy: Optional[dict] = None,
        activation_checkpointing: bool = False,
        reshard_after_forward: bool = True,
        block_types: Optional[Sequence[str]] = None,
        checkpoint_format: str = 'sharded',
        compile: Union[bool, dict, None] = None,
        cast_root_inputs: bool = True,
        **kwargs,
    ) -> None:
        # A typo must stop the run here, before the process group starts.
        build_mp_policy(mp_policy)
        if checkpoint_format not in _FORMATS:
            raise ValueError(
                f'FSDP2Strategy: checkpoint_format={checkpoint_format!r}; '
                f'choose one of {_FORMATS}.'
            )
        if kwargs.get('model_wrapper') is not None:
            raise ValueError(
                'FSDP2Strategy shards the model itself and takes no '
                'model_wrapper; drop strategy.model_wrapper.'
            )
        super().__init__(**kwargs)
        self.mp_policy = mp_policy
        self.activation_checkpointing = activation_checkpointing
        self.reshard_after_forward = reshard_after_forward
        self.block_types = block_types
        self.checkpoint_format = checkpoint_format
        self.compile_cfg = compile
        self.cast_root_inputs = cast_root_inputs
        self._load_optimizer = False

    def prepare(self, model, *, optim_wrapper=None, **kwargs):
        """Check that the optimizer wrapper autocasts when the root keeps
        fp32 inputs, then build, shard and wrap as the DDP strategy does."""
        dtype = (self.mp_policy or {}).get('param_dtype')
        if not self.cast_root_inputs and dtype not in (None, 'float32'):
            kind = ''
            if isinstance(optim_wrapper, dict):
                kind = str(optim_wrapper.get('type', 'OptimWrapper'))
            elif optim_wrapper is not None:
                kind = type(optim_wrapper).__name__
            if not kind.endswith(('AutocastOptimWrapper', 'AmpOptimWrapper')):
                raise ValueError(
                    'FSDP2Strategy(cast_root_inputs=False) with '
                    f'param_dtype={dtype!r} needs autocast for the layers '
                    f'outside the blocks, but the optimizer wrapper is '
                    f'{kind or None!r}: set optim_wrapper.type='
                    "'mmmim.AutocastOptimWrapper' (dtype='bfloat16'), or "
                    'strategy.cast_root_inputs=True.'
                )
        return super().prepare(model, optim_wrapper=optim_wrapper, **kwargs)

    # Model -------------------------------------------------------------
    def _wrap_model(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to this rank's device and shard it in place."""
        if is_model_wrapper(model):
            raise TypeError(
                f'FSDP2Strategy got a wrapped model ({type(model).__name__})'
            )
        model = self.convert_model(model).to(get_device())
        if not self.distributed:
            self.logger.warning(
                'FSDP2Strategy without a launcher: one process, nothing to '
                'shard; the model trains unsharded (use tools/'
                'dist_train.sh or --launcher pytorch to shard it).'
            )
            return model
        from torch.distributed.device_mesh import init_device_mesh

        mesh = init_device_mesh(
            torch.device(get_device()).type,
            (self.world_size,),
            mesh_dim_names=('dp',),
        )
        apply_fsdp2(
            model,
            mesh=mesh,
            mp_policy=self.mp_policy,
            activation_checkpointing=self.activation_checkpointing,
            reshard_after_forward=self.reshard_after_forward,
            block_types=self.block_types,
            cast_root_inputs=self.cast_root_inputs,
        )
        num = len(find_blocks(model, self.block_types))
        self.logger.info(
            f'FSDP2: {num} blocks sharded over {self.world_size} ranks '
            f'(mixed precision: {self.mp_policy or "off"}, activation '
            f'checkpointing: {self.activation_checkpointing})'
        )
        return model

    def compile_model(
        self, model: nn.Module, compile: Union[dict, bool] = False
    ) -> nn.Module:
        """``torch.compile`` each block's forward; the hooks of FSDP and of
        activation checkpointing run eagerly around the compiled code, so
        the whole step is never traced as one graph."""
        compile = self.compile_cfg if self.compile_cfg is not None else compile
        if not compile:
            return model
        kwargs = dict(compile) if isinstance(compile, dict) else {}
        kwargs.pop('target', None)  # the runner's whole-step target
        blocks = find_blocks(model, self.block_types)
        for block in blocks:
            block.forward = torch.compile(block.forward, **kwargs)
        self.logger.info(
            f'Compiled the forward of {len(blocks)} blocks; the first '
            'iterations compile, be patient.'
        )
        return model

    # State dicts -------------------------------------------------------
    def _optimizer(self):
        return self.optim_wrapper.optimizer

    def model_state_dict(self) -> dict:
        """Sharded state dict (every rank its shards)."""
        return get_model_state_dict(self.model)

    def optim_state_dict(self) -> dict:
        """Sharded optimizer state, keyed by parameter name."""
        return get_optimizer_state_dict(self.model, self._optimizer())

    def _full_state(self, save_optimizer: bool) -> Dict:
        """The gathered model (and optimizer) state: a collective; only
        rank 0 receives the tensors, in CPU memory."""
        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state = dict(
            state_dict=get_model_state_dict(self.model, options=options)
        )
        if save_optimizer and hasattr(self, 'optim_wrapper'):
            optim = self._optimizer()
            named = get_optimizer_state_dict(
                self.model, optim, options=options
            )
            if is_main_process():
                state['optimizer'] = optim_to_indexed(named, self.model, optim)
        return state

    def save_checkpoint(
        self,
        filename: str,
        *,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        extra_ckpt: Optional[dict] = None,
        callback: Optional[Callable] = None,
    ) -> None:
        """Save on every rank (a collective): a sharded folder or a full
        file, see ``checkpoint_format``; hooks see the checkpoint on rank 0
        only, as with DDP."""
        from mmengine.runner.checkpoint import save_checkpoint

        save_optimizer = save_optimizer and hasattr(self, 'optim_wrapper')
        if self.checkpoint_format == 'full':
            checkpoint = self._full_state(save_optimizer)
        else:
            checkpoint = dict(state_dict=self.model_state_dict())
            if save_optimizer:
                checkpoint['optimizer'] = self.optim_state_dict()
        if save_param_scheduler and hasattr(self, 'param_schedulers'):
            checkpoint['param_schedulers'] = self.scheduler_state_dict()
        checkpoint.update(self._meta(extra_ckpt))
        if is_main_process() and callback is not None:
            callback(checkpoint)
        if self.checkpoint_format == 'sharded':
            save_sharded(checkpoint, filename)
        elif is_main_process():
            save_checkpoint(checkpoint, filename)
        if dist.is_initialized():
            dist.barrier()

    def _meta(self, extra_ckpt: Optional[dict]) -> Dict:
        import time

        import mmengine

        extra = dict(extra_ckpt or {})
        meta = dict(extra.get('meta') or {})
        meta.update(
            seed=self.seed,
            time=time.strftime('%Y%m%d_%H%M%S', time.localtime()),
            mmengine=mmengine.__version__,
            checkpoint_format=self.checkpoint_format,
            world_size=self.world_size,
        )
        extra['meta'] = meta
        return extra

    # Loading -----------------------------------------------------------
    def resume(self, filename: str, **kwargs) -> dict:
        """mmengine's resume; the optimizer state of a sharded folder is
        read in the same pass as the model's."""
        self._load_optimizer = kwargs.get('resume_optimizer', True)
        try:
            return super().resume(filename, **kwargs)
        finally:
            self._load_optimizer = False

    def load_checkpoint(
        self,
        filename: str,
        *,
        map_location: Union[str, Callable] = 'cpu',
        strict: bool = False,
        revise_keys: list = [(r'^module.', '')],  # noqa: B006
        callback: Optional[Callable] = None,
    ) -> dict:
        """Load a sharded folder or a full file into the sharded model."""
        if not osp.isdir(filename):
            return super().load_checkpoint(
                filename,
                map_location='cpu',
                strict=strict,
                revise_keys=revise_keys,
                callback=callback,
            )
        if not is_sharded_checkpoint(filename):
            raise FileNotFoundError(
                f'{filename} is a folder but no complete sharded checkpoint '
                '(no .metadata): a save was interrupted?'
            )
        self.logger.info(f'Load sharded checkpoint from {filename}')
        target = dict(state_dict=self.model_state_dict())
        if self._load_optimizer and hasattr(self, 'optim_wrapper'):
            target['optimizer'] = self.optim_state_dict()
        checkpoint = load_sharded(target, filename)
        if callback is not None:
            callback(checkpoint)
        set_model_state_dict(self.model, checkpoint.pop('state_dict'))
        return checkpoint

    def load_model_state_dict(
        self,
        state_dict: dict,
        *,
        strict: bool = False,
        revise_keys: list = [(r'^module.', '')],  # noqa: B006
    ) -> None:
        """Load a full (unsharded) state dict: each rank keeps its shard."""
        if not self.distributed:  # the model is not sharded
            super().load_model_state_dict(
                state_dict, strict=strict, revise_keys=revise_keys
            )
            return
        for pattern, replacement in revise_keys:
            state_dict = {
                re.sub(pattern, replacement, k): v
                for k, v in state_dict.items()
            }
        own = set(self.model.state_dict())
        unexpected = sorted(set(state_dict) - own)
        missing = sorted(own - set(state_dict))
        if (unexpected or missing) and strict:
            raise RuntimeError(
                f'strict load: missing keys {missing}, unexpected keys '
                f'{unexpected}'
            )
        if unexpected or missing:
            self.logger.warning(
                f'Loaded with missing keys {missing} and unexpected keys '
                f'{unexpected}'
            )
        state_dict = {k: v for k, v in state_dict.items() if k in own}
        options = StateDictOptions(full_state_dict=True, strict=False)
        set_model_state_dict(self.model, state_dict, options=options)

    def load_optim_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state of either format."""
        optim = self._optimizer()
        if not self.distributed:
            if _is_named(state_dict):
                state_dict = optim_to_indexed(state_dict, self.model, optim)
            self.optim_wrapper.load_state_dict(state_dict)
            return
        if _is_named(state_dict):  # from a sharded folder
            set_optimizer_state_dict(self.model, optim, state_dict)
            return
        named = optim_to_named(state_dict, self.model, optim)
        options = StateDictOptions(full_state_dict=True)
        set_optimizer_state_dict(self.model, optim, named, options=options)


def _is_named(optim_state: dict) -> bool:
    """Whether an optimizer state is keyed by parameter name."""
    groups = optim_state.get('param_groups') or [{}]
    params = groups[0].get('params') or [0]
    return isinstance(params[0], str)
