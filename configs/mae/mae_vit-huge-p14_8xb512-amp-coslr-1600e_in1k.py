# MAE ViT-H/14: the ViT-B recipe with the huge encoder and 14-pixel patches
# (a 16 x 16 grid at 224 pixels).
_base_ = './mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py'

model = dict(
    backbone=dict(arch='h', patch_size=14),
    neck=dict(num_patches=256, patch_size=14, embed_dims=1280),
    head=dict(patch_size=14),
)
