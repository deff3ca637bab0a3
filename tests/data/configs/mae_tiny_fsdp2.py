# The tiny MAE job of mae_tiny_ddp.py (8 images per iteration in total)
# on mmengine's FlexibleRunner with mmmim's FSDP2 strategy: every block
# sharded over the ranks.
_base_ = './mae_tiny_ddp.py'
custom_imports = dict(
    imports=[
        'tests.data.toy_components',
        'tests.data.configs.mim_ddp_components',
        'tests.data.configs.fsdp2_components',
        'mmmim.models',
    ],
    allow_failed_imports=False,
)
runner_type = 'FlexibleRunner'
strategy = dict(type='mmmim.FSDP2Strategy', checkpoint_format='sharded')
# Clipping is active in every iteration (norms 0.1-0.6): the global
# gradient norm over the shards must be the one process's.
optim_wrapper = dict(clip_grad=dict(max_norm=0.1))
# mmmim's runtime hooks (configs/_base_/default_runtime.py), all of them
# working with the FlexibleRunner.
default_hooks = dict(
    random_state=dict(type='RandomStateHook'),
    load_check=dict(type='LoadCheckHook'),
    non_finite_guard=dict(type='NonFiniteGuardHook', action='stop'),
)
custom_hooks = [
    dict(type='DumpLossesHook'),
    dict(type='DumpFullWeightsHook'),
]
