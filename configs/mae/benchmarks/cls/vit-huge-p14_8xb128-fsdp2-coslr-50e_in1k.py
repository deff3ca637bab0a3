# Fine-tune an MAE ViT-H/14 on ImageNet-1k: the recipe of
# vit-huge-p14_8xb128-coslr-50e_in1k.py (layer decay 0.75, drop path 0.3)
# sharded with FSDP2, bf16 compute with fp32 gradient reduction
# (configs/_base_/fsdp2_runtime.py). The layer-decay groups are those of
# the plain model: sharding keeps the parameter names.
_base_ = [
    './vit-huge-p14_8xb128-coslr-50e_in1k.py',
    '../../../_base_/fsdp2_runtime.py',
]
# Autocast for the layers outside the sharded blocks, which keep the batch
# in fp32 (strategy.cast_root_inputs=False in fsdp2_runtime.py).
optim_wrapper = dict(type='mmmim.AutocastOptimWrapper', dtype='bfloat16')
