# Supervised ViT-L/16 trained from scratch on ImageNet-1k, the MAE paper's
# baseline recipe (appendix A.2, Table 11; 82.6 top-1 in Table 3 / Fig. 8,
# "our impl."): as the ViT-B one but 200 epochs, drop path 0.1 (B/L).
_base_ = './vit-base-p16_8xb512-scratch-ema-coslr-300e_in1k.py'

max_epochs = 200

model = dict(backbone=dict(arch='l'), head=dict(in_channels=1024))
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
