# MAE ablation (paper Table 1f): grid masking: keep one patch of every 2 x 2
# cell (75%).
# Inherits the ViT-L/16 800-epoch recipe, which the paper's ablations use,
# and changes only the setting named above.
_base_ = '../mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'

model = dict(
    backbone=dict(
        mask_generator=dict(
            _delete_=True, type='GridMaskGenerator', cell_size=2
        )
    )
)
