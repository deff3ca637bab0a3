# MAE ablation (paper Table 1e): random-size cropping (the default) plus
# colour jittering. The paper gives no jitter strength; here 0.4 for
# brightness, contrast and saturation (the --color_jitter default of the
# official main_finetune.py).
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the setting named above.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='LoadImageOrSkip'),
            dict(
                type='mmpretrain.RandomResizedCrop',
                scale=224,
                crop_ratio_range=(0.2, 1.0),
                backend='pillow',
                interpolation='bicubic',
            ),
            dict(type='RandomFlip', prob=0.5),
            dict(
                type='mmpretrain.ColorJitter',
                brightness=0.4,
                contrast=0.4,
                saturation=0.4,
            ),
            dict(type='mmpretrain.PackInputs'),
        ]
    )
)
