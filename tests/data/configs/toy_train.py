# A tiny CPU job for the tool tests (tests/test_tools).
custom_imports = dict(
    imports=['tests.data.toy_components'], allow_failed_imports=False
)
default_scope = 'mmmim'

model = dict(type='ToyRegressor')
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyRegressionDataset', length=64),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.05, betas=(0.9, 0.95)))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=6, by_epoch=False)]
auto_scale_lr = dict(base_batch_size=4)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(
        type='CheckpointHook', interval=3, by_epoch=False, max_keep_ckpts=3
    ),
)
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='DumpWeightsHook'),
    dict(type='KillAtIterHook', kill_iter=-1),
]
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'),
)
randomness = dict(seed=0)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
