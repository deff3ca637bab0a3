# Fine-tune an MAE ViT-H/14 on ImageNet-1k with DeepSpeed ZeRO-2
# (optimizer states and gradients partitioned) through mmengine's
# DeepSpeedStrategy: the recipe of vit-huge-p14_8xb128-coslr-50e_in1k.py
# with fp16 and dynamic loss scaling, and the DeepSpeed settings of
# vit-large-p16_8xb128-ds-coslr-50e_in1k.py. GPU only (CUDA and
# `pip install deepspeed`); see docs/en/large_models.md.
_base_ = './vit-huge-p14_8xb128-coslr-50e_in1k.py'

runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    fp16=dict(
        enabled=True,
        loss_scale=0,
        initial_scale_power=16,
        loss_scale_window=500,
        hysteresis=2,
        min_loss_scale=1,
    ),
    inputs_to_half=['inputs'],
    zero_optimization=dict(
        stage=2,
        allgather_partitions=True,
        reduce_scatter=True,
        allgather_bucket_size=50000000,
        reduce_bucket_size=50000000,
        overlap_comm=True,
        contiguous_gradients=True,
        cpu_offload=False,
    ),
)
optim_wrapper = dict(type='DeepSpeedOptimWrapper')
default_hooks = dict(non_finite_guard=None)
