# Fine-tune an MAE ViT-L/16 on ImageNet-1k with DeepSpeed ZeRO-1 through
# mmengine's DeepSpeedStrategy: the recipe of
# vit-large-p16_8xb128-coslr-50e_in1k.py with fp16 and dynamic loss
# scaling (the official fine-tuning ran fp16 AMP). GPU only: DeepSpeed
# needs CUDA and `pip install deepspeed`; on CPUs, or without DeepSpeed,
# use the FSDP2 configs (*-fsdp2-*). See docs/en/large_models.md.
_base_ = './vit-large-p16_8xb128-coslr-50e_in1k.py'

runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
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
# DeepSpeed's engine runs backward, loss scaling and the optimizer step.
optim_wrapper = dict(type='DeepSpeedOptimWrapper')
# Its loss scaler already skips steps with inf/NaN gradients, which are
# partitioned under ZeRO (the guard cannot see them).
default_hooks = dict(non_finite_guard=None)
