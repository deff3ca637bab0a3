# MAE ablation (paper Table 1b): decoder width 256 (default 512).
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(neck=dict(decoder_embed_dims=256))
