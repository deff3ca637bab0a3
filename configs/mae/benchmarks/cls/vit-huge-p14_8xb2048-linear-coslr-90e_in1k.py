# Linear probe of an MAE ViT-H/14: the ViT-B recipe with the huge encoder.
_base_ = './vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'

model = dict(
    backbone=dict(arch='h', patch_size=14, frozen_stages=32),
    neck=dict(input_features=1280),
    head=dict(in_channels=1280),
)
