# MAE ViT-L/16: the ViT-B recipe (same lr, batch and decoder) with the
# large encoder.
_base_ = './mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py'

model = dict(
    backbone=dict(arch='l'),
    neck=dict(embed_dims=1024),
)
