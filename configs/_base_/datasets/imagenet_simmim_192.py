# ImageNet-1k for SimMIM pre-training of Swin (4-pixel patches) at 192
# pixels: as imagenet_simmim_224.py with 192-pixel crops and the mask on
# the 48 x 48 tokens (32-pixel squares, 22 of 36 masked).
_base_ = './imagenet_simmim_224.py'

img_size = 192
model_patch_size = 4

train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(
        type='mmpretrain.RandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.67, 1.0),
        aspect_ratio_range=(3.0 / 4.0, 4.0 / 3.0),
        backend='pillow',
        interpolation='bilinear',
    ),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='GenerateMask',
        mask_generator=dict(
            type='SimMIMMaskGenerator',
            mask_ratio=0.6,
            mask_patch_size=32,
            model_patch_size=model_patch_size,
        ),
        patch_size=model_patch_size,
    ),
    dict(type='mmpretrain.PackInputs', algorithm_keys=['mask']),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
