# MAE ablation (paper Table 1f): grid masking: keep one patch of every 2 x 2
# cell (75%).
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(
    backbone=dict(
        mask_generator=dict(
            _delete_=True, type='GridMaskGenerator', cell_size=2
        )
    )
)
