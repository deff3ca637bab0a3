# The one base of the MAE ablations (the paper's Table 1 and Figs. 5-6): the
# official recipe with a ViT-L/16 encoder pre-trained for 800 epochs, which
# the paper's ablations use. Every config in configs/mae/ablations inherits
# this file and changes only its own setting. It is written out here instead
# of inheriting the released ViT-L config, so that an edit to the released
# recipes cannot silently change the ablations; a test checks that it
# resolves to the same values as mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.
_base_ = [
    '../../../_base_/models/mae_vit-base-p16.py',
    '../../../_base_/datasets/imagenet_mae.py',
    '../../../_base_/schedules/adamw_coslr_mae.py',
    '../../../_base_/default_runtime.py',
]

optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')

model = dict(
    backbone=dict(arch='l'),
    neck=dict(embed_dims=1024),
)

max_epochs = 800
train_cfg = dict(max_epochs=max_epochs)
# The warm-up stays 40 epochs; the cosine phase ends with the run.
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs),
]
