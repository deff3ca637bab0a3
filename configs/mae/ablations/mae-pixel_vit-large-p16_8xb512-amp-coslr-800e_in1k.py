# MAE ablation (paper Table 1d): target = pixels without per-patch
# normalisation.
# Inherits the ablation base (ViT-L/16, 800 epochs, the paper's setting)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(head=dict(norm_pix=False))
