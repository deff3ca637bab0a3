# MAE ablation (paper Table 1d): target = pixels without per-patch
# normalisation.
# Inherits the ViT-L/16 800-epoch recipe, which the paper's ablations use,
# and changes only the setting named above.
_base_ = '../mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'

model = dict(head=dict(norm_pix=False))
