# The tiny VideoMAE job of videomae_tiny_ddp.py on FSDP2 with activation
# checkpointing of every block.
_base_ = './videomae_tiny_ddp.py'
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
strategy = dict(type='mmmim.FSDP2Strategy', activation_checkpointing=True)
# Clipping is active in every iteration (norms 0.1-0.6): the global
# gradient norm over the shards must be the one process's.
optim_wrapper = dict(clip_grad=dict(max_norm=0.1))
custom_hooks = [
    dict(type='DumpLossesHook'),
    dict(type='DumpFullWeightsHook'),
]
