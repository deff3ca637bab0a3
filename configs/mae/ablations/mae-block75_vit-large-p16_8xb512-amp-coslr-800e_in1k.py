# MAE ablation (paper Table 1f): block-wise masking (BEiT style) of 75% of the
# patches.
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
# BlockMaskGenerator samples on the CPU inside the training step; to move
# it into the data workers, add GenerateMask to the pipeline and pack the
# mask with PackInputs(algorithm_keys=['mask']).
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(
    backbone=dict(
        mask_generator=dict(
            _delete_=True, type='BlockMaskGenerator', mask_ratio=0.75
        )
    )
)
