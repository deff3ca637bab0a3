# MAE ablation (paper Fig. 7, training schedules): the Table 1 default
# (unnormalised pixels) pre-trained for 400 epochs instead of 800. The
# warm-up stays 40 epochs (main_pretrain.py --warmup_epochs default); the
# cosine phase ends with the run.
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

max_epochs = 400
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs),
]
