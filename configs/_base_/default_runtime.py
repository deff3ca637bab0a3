# Runtime defaults shared by every mmmim config.
default_scope = 'mmmim'

default_hooks = dict(
    # Time every iteration (the ETA in the log comes from it).
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    # Reseed the sampler every epoch in distributed runs.
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# Smooth the logged values over `window_size` iterations; `by_epoch=False`
# logs the global iteration, which the loss curve uses as its x axis.
log_processor = dict(window_size=10, by_epoch=True)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False

# `diff_rank_seed` gives every rank its own masks and augmentations.
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
