# MAE ablation (paper Table 1f): block-wise masking (BEiT style) of 75% of the
# patches.
# Inherits the ViT-L/16 800-epoch recipe, which the paper's ablations use,
# and changes only the setting named above.
# BlockMaskGenerator samples on the CPU inside the training step; to move
# it into the data workers, add GenerateMask to the pipeline and pack the
# mask with PackInputs(algorithm_keys=['mask']).
_base_ = '../mae_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'

model = dict(
    backbone=dict(
        mask_generator=dict(
            _delete_=True, type='BlockMaskGenerator', mask_ratio=0.75
        )
    )
)
