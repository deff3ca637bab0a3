# MAE ablation (paper Table 1c): the encoder sees all patches, with a mask
# token at the masked ones.
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(backbone=dict(encoder_mask_token=True))
