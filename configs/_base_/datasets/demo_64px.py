# The demo data (tools/misc/prepare_demo_data.py): 64 x 64 crops of the
# real photos and video frames in data/demo/train, for the CPU demos of
# the MIM methods.
img_size = 64

# LoadAndRandomResizedCrop: LoadImageOrSkip + mmpretrain's
# RandomResizedCrop in one step, with the same crop distribution (box for
# box from the same seed) and parameters; it decodes the larger JPEGs at a
# reduced DCT scale and resizes with torch's uint8 kernel
# (docs/en/benchmarks.md, "Data pipeline": 1.6x the img/s per core of the
# two steps on these 64-pixel crops, PSNR >= 33 dB against them).
train_pipeline = [
    dict(
        type='LoadAndRandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.35, 1.0),
        backend='pillow',
        interpolation='bicubic',
    ),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmpretrain.PackInputs'),
]

# Two workers for the two cores of a laptop-class CPU: ~1,400 crops/s per
# core (benchmark_data.py --scale 64 --crop-ratio-range 0.35 1.0) against
# the ~160 img/s the MAE demo trains at there (data_time ~2 % of time).
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
