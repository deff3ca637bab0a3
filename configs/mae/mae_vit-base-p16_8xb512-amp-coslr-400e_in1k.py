_base_ = './mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py'

max_epochs = 400
train_cfg = dict(max_epochs=max_epochs)
# The warm-up stays 40 epochs; the cosine phase ends with the run.
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs),
]
