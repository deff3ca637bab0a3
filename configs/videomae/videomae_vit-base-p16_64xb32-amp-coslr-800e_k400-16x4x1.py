# VideoMAE ViT-B/16 on Kinetics-400 for 800 epochs (warm-up stays 40).
_base_ = './videomae_vit-base-p16_64xb32-amp-coslr-1600e_k400-16x4x1.py'

max_epochs = 800
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs),
]
