# ImageNet-1k for MAE pre-training: the official augmentation, no labels.
dataset_type = 'mmpretrain.ImageNet'
data_root = 'data/imagenet/'

train_pipeline = [
    dict(type='LoadImageOrSkip'),
    # torchvision's RandomResizedCrop(224, scale=(0.2, 1.0), bicubic):
    # mmpretrain calls the output size `scale` and the area range
    # `crop_ratio_range`.
    dict(
        type='mmpretrain.RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic',
    ),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmpretrain.PackInputs'),
]

train_dataloader = dict(
    batch_size=512,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline,
    ),
)
