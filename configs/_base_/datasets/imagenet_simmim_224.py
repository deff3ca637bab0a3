# ImageNet-1k for SimMIM pre-training of ViT/16 at 224 pixels (official
# SimMIMTransform): RandomResizedCrop(224, scale=(0.67, 1), ratio=(3/4,
# 4/3), bilinear as torchvision's default) + flip, then a SimMIM mask of
# 32-pixel squares (ratio 0.6 rounded up: 30 of 49) on the 14 x 14 tokens,
# packed into the data samples. No labels.
dataset_type = 'mmpretrain.ImageNet'
data_root = 'data/imagenet/'
img_size = 224
model_patch_size = 16

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
# Faster, same crop distribution and parameters: the first two steps as
# dict(type='LoadAndRandomResizedCrop', scale=img_size,
# crop_ratio_range=(0.67, 1.0), aspect_ratio_range=(3.0 / 4.0, 4.0 / 3.0),
# backend='pillow', interpolation='bilinear') (docs/en/benchmarks.md,
# "Data pipeline").

# Loader sized with tools/analysis_tools/benchmark_data.py: ~380 img/s per
# core for these steps on ImageNet-sized JPEGs, so 10 workers give ~3,700
# img/s per GPU, above what SimMIM ViT-B (1.8x the FLOPs of MAE-B per
# image) trains at on one H100/H200. prefetch_factor: torch's default, as
# a value here would break num_workers=0.
train_dataloader = dict(
    batch_size=128,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline,
    ),
)
