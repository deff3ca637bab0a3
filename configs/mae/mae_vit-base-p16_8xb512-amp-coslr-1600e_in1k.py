# MAE ViT-B/16, the official recipe: 1600 epochs, total batch 4096
# (8 GPUs x 512), bf16 autocast.
_base_ = [
    '../_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/imagenet_mae.py',
    '../_base_/schedules/adamw_coslr_mae.py',
    '../_base_/default_runtime.py',
]

# bf16 autocast without loss scaling (no GradScaler unscale pass or host
# sync per step); mmengine's AmpOptimWrapper(dtype='float16') gives the
# official fp16 + GradScaler recipe.
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
