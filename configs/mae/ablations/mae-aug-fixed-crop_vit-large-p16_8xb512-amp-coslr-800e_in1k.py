# MAE ablation (paper Table 1e): fixed-size cropping with random horizontal
# flipping. The paper gives no crop size for this row; here a random 224
# crop of the image resized to 256 on the short side (bicubic).
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
            dict(type='mmpretrain.RandomCrop', crop_size=224),
            dict(type='RandomFlip', prob=0.5),
            dict(type='mmpretrain.PackInputs'),
        ]
    )
)
