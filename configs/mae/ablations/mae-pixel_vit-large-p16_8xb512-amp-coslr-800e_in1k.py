# MAE ablation (paper Table 1d): target = pixels without per-patch
# normalisation. This IS the Table 1 default row, so this file equals the
# ablation base; it names the row next to the other targets, and is the
# 800-epoch point of the schedule figure (Fig. 7).
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'
