# Runtime defaults shared by every mmmim config.
default_scope = 'mmmim'
# Reading the config imports mmmim, which applies its mmengine patches
# (mmmim/patches.py) before a runner starts: tools/train.py, mim train and
# Runner.from_cfg(cfg) then run the same way.
custom_imports = dict(imports=['mmmim'], allow_failed_imports=False)

default_hooks = dict(
    # Time every iteration (the ETA in the log comes from it).
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Writes atomically and deletes old files only after the new one.
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    # Reseed the sampler every epoch in distributed runs.
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Checkpoints carry the random states, so --resume continues the
    # masks and drop-path draws of the interrupted run exactly.
    random_state=dict(type='RandomStateHook'),
    # A load_from checkpoint must fill the backbone and a resumed one the
    # model: a wrong file stops the run instead of training from scratch.
    load_check=dict(type='mmmim.LoadCheckHook', min_backbone_fraction=1.0),
    # NaN/Inf loss or gradients: skip the update (logged), stop after 20.
    non_finite_guard=dict(
        type='NonFiniteGuardHook', action='skip', max_skips=20
    ),
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

# Distributed runs (ignored without a launcher). MIMDistributedDataParallel
# computes the step of mmengine's MMDistributedDataParallel; with `compile`
# it compiles only the forward pass and the loss, where mmengine's would
# also compile the optimizer update (which fails with the non-finite guard
# and parameter-wise weight decay). Set `find_unused_parameters` here.
model_wrapper_cfg = dict(
    type='mmmim.MIMDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False,
)

# `compile = True` runs the training step through torch.compile: the
# forward pass, the loss and the backward graph are compiled; data
# preprocessing, mask drawing and the optimizer step stay eager, so the
# masks and losses are those of an eager run (drop-path draws differ). The
# first iterations compile (about a minute for MAE-B; CPUs need a C++
# compiler). See docs/en/benchmarks.md.
# compile = True

log_level = 'INFO'
load_from = None
resume = False

# The same seed on every rank: in-model masks are rows of one global-batch
# draw (every sample, on every rank, gets its own mask), so the loss curve
# does not depend on the number of GPUs. Dataloader workers are seeded per
# rank and worker by mmengine, so augmentations still differ per rank.
randomness = dict(seed=0, diff_rank_seed=False, deterministic=False)
