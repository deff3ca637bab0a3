# MAE ablation (paper Table 1 / Fig. 5): mask ratio 0.9 (random masking).
# Inherits the ViT-L/16 800-epoch recipe, which the paper's ablations use,
# and changes only the setting named above.
_base_ = '../mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'

model = dict(backbone=dict(mask_generator=dict(mask_ratio=0.9)))
