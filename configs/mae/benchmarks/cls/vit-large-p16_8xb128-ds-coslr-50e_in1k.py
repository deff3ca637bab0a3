# Fine-tune an MAE ViT-L/16 on ImageNet-1k with DeepSpeed ZeRO-1 through
# mmengine's DeepSpeedStrategy: the recipe of
# vit-large-p16_8xb128-coslr-50e_in1k.py with fp16 and dynamic loss
# scaling (the official fine-tuning ran fp16 AMP). GPU only: DeepSpeed
# needs CUDA and `pip install deepspeed`; on CPUs, or without DeepSpeed,
# use the FSDP2 configs (*-fsdp2-*). See docs/en/large_models.md.
_base_ = [
    './vit-large-p16_8xb128-coslr-50e_in1k.py',
    '../../../_base_/deepspeed_runtime.py',
]

# DeepSpeed's engine runs backward, loss scaling and the optimizer step.
optim_wrapper = dict(type='DeepSpeedOptimWrapper')
# Its loss scaler already skips steps with inf/NaN gradients, which are
# partitioned under ZeRO (the guard cannot see them).
default_hooks = dict(non_finite_guard=None)
