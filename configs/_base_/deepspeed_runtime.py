# DeepSpeed ZeRO through mmengine's FlexibleRunner and DeepSpeedStrategy,
# GPU only (CUDA and `pip install deepspeed`); on CPUs, or without
# DeepSpeed, use fsdp2_runtime.py. Add this file to a config's `_base_`
# list, then set `optim_wrapper = dict(type='DeepSpeedOptimWrapper')` and
# `default_hooks = dict(non_finite_guard=None)` in the config itself (a key
# may come from one base only). See docs/en/large_models.md.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    # fp16 with dynamic loss scaling, as the official fine-tuning ran AMP.
    fp16=dict(
        enabled=True,
        # 0: dynamic loss scaling, starting at 2 ** 16.
        loss_scale=0,
        initial_scale_power=16,
        loss_scale_window=500,
        hysteresis=2,
        min_loss_scale=1,
    ),
    inputs_to_half=['inputs'],
    zero_optimization=dict(
        # 1: optimizer states partitioned; 2: gradients too.
        stage=1,
        allgather_partitions=True,
        reduce_scatter=True,
        allgather_bucket_size=50000000,
        reduce_bucket_size=50000000,
        overlap_comm=True,
        contiguous_gradients=True,
        cpu_offload=False,
    ),
)
