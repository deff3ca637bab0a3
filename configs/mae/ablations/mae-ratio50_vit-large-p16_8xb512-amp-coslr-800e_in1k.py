# MAE ablation (paper Fig. 5, masking ratio): random masking of 50% of the
# patches (default 75%).
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(backbone=dict(mask_generator=dict(mask_ratio=0.5)))
