# The demo data (tools/misc/prepare_demo_data.py): 64 x 64 crops of the
# real photos and video frames in data/demo/train, for the CPU demos of
# the MIM methods.
img_size = 64

train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(
        type='mmpretrain.RandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.35, 1.0),
        backend='pillow',
        interpolation='bicubic',
    ),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmpretrain.PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='mmpretrain.CustomDataset',
        data_root='data/demo',
        data_prefix='train',
        with_label=False,
        pipeline=train_pipeline,
    ),
)
