# VideoMAE ViT-B/16 on Something-Something V2, the official recipe:
# 16 frames x stride 2, tube mask 0.9, 2400 epochs (the released checkpoint
# ran 2401), total batch 2048, bf16 autocast.
_base_ = [
    '../_base_/models/videomae_vit-base-p16.py',
    '../_base_/datasets/sthv2_videomae_pretrain.py',
    '../_base_/schedules/adamw_coslr_videomae.py',
    '../_base_/default_runtime.py',
]

max_epochs = 2400
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs),
]
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
