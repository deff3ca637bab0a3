# MAE ablation (paper Table 1e): no data augmentation. The paper does not
# spell out the input transform for this row; here it is the evaluation
# transform of the official code (Resize 256 on the short side, bicubic,
# CenterCrop 224), without flipping.
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='LoadImageOrSkip'),
            dict(
                type='mmpretrain.ResizeEdge',
                scale=256,
                edge='short',
                backend='pillow',
                interpolation='bicubic',
            ),
            dict(type='mmpretrain.CenterCrop', crop_size=224),
            dict(type='mmpretrain.PackInputs'),
        ]
    )
)
