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
# Faster, same crop and flip distributions and parameters: replace the
# first three steps by dict(type='LoadAndRandomResizedCrop', scale=224,
# crop_ratio_range=(0.2, 1.0), backend='pillow', interpolation='bicubic',
# flip_prob=0.5) (2.0-2.1x the img/s per core, PSNR >= 50 dB against these
# steps; docs/en/benchmarks.md, "Data pipeline").

# Loader sized with tools/analysis_tools/benchmark_data.py: these steps
# make ~380 img/s per core on ImageNet-sized JPEGs, so 10 single-threaded
# workers give ~3,700 img/s per GPU, above the 2,396 img/s of the official
# MAE-B recipe on an H200; MAE-B at 6,000 img/s needs ~16 cores per GPU,
# ~8 with LoadAndRandomResizedCrop. Persistent workers keep their start-up
# out of every epoch; pinned memory makes the copy to the GPU
# asynchronous. prefetch_factor keeps torch's default (2 batches per
# worker: 20 batches queued), as a value here would break num_workers=0.
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
