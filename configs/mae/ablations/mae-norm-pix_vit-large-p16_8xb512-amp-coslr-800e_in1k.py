# MAE ablation (paper Table 1d): target = per-patch normalised pixels
# (main_pretrain.py --norm_pix_loss, the released recipe; 85.4 ft / 73.9
# lin against 84.9 / 73.5 for the default unnormalised pixels).
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(head=dict(norm_pix=True))
