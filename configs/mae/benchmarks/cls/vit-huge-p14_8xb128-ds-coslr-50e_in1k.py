# Fine-tune an MAE ViT-H/14 on ImageNet-1k with DeepSpeed ZeRO-2
# (optimizer states and gradients partitioned) through mmengine's
# DeepSpeedStrategy: the recipe of vit-huge-p14_8xb128-coslr-50e_in1k.py
# with fp16 and dynamic loss scaling. GPU only (CUDA and
# `pip install deepspeed`); see docs/en/large_models.md.
_base_ = [
    './vit-huge-p14_8xb128-coslr-50e_in1k.py',
    '../../../_base_/deepspeed_runtime.py',
]

strategy = dict(zero_optimization=dict(stage=2))
# DeepSpeed's engine runs backward, loss scaling and the optimizer step;
# its loss scaler skips steps with inf/NaN gradients (see the ViT-L config).
optim_wrapper = dict(type='DeepSpeedOptimWrapper')
default_hooks = dict(non_finite_guard=None)
