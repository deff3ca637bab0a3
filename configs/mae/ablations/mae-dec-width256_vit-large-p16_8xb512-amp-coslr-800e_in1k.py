# MAE ablation (paper Table 1b): decoder width 256 (default 512).
# Inherits the ViT-L/16 800-epoch recipe, which the paper's ablations use,
# and changes only the setting named above.
_base_ = '../mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'

model = dict(neck=dict(decoder_embed_dims=256))
