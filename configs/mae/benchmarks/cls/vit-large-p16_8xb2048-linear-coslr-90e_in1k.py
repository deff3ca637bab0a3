# Linear probe of an MAE ViT-L/16 (75.8 top-1 in the paper, with the
# cls token): the ViT-B recipe with the large encoder.
_base_ = './vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'

model = dict(
    backbone=dict(arch='l', frozen_stages=24),
    neck=dict(input_features=1024),
    head=dict(in_channels=1024),
)
