# MAE ablation (paper Table 1 / Fig. 5): mask ratio 0.9 (random masking).
# Inherits the ablation base (ViT-L/16, 800 epochs, the paper's setting)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(backbone=dict(mask_generator=dict(mask_ratio=0.9)))
