# A CPU demo of SimMIM: a tiny ViT (128-d, 4 layers, 8-pixel patches,
# shared relative position bias, layer scale) learns to fill in masked
# 16-pixel squares of 64 x 64 crops of the demo photos in a few minutes
# on 2 cores:
#   python tools/train.py configs/simmim/simmim_vit-tiny-p8_1xb32-coslr-demo.py
_base_ = [
    '../_base_/models/simmim_vit-base-p16.py',
    '../_base_/default_runtime.py',
]

img_size = 64
patch_size = 8
max_iters = 800
# 16-pixel mask squares: 10 of the 16 squares (ratio 0.6 rounded up).
mask_generator = dict(
    type='SimMIMMaskGenerator',
    mask_ratio=0.6,
    mask_patch_size=16,
    model_patch_size=patch_size,
)

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=128,
            num_layers=4,
            num_heads=4,
            feedforward_channels=512,
        ),
        img_size=img_size,
        patch_size=patch_size,
        drop_path_rate=0.0,
        mask_generator=mask_generator,
    ),
    neck=dict(in_channels=128, encoder_stride=patch_size),
    head=dict(patch_size=patch_size),
)

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
    dict(
        type='GenerateMask',
        mask_generator=mask_generator,
        patch_size=patch_size,
    ),
    dict(type='mmpretrain.PackInputs', algorithm_keys=['mask']),
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

# A higher lr than the ImageNet recipe (1e-4 x 32 / 512) for a short run.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05
    ),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(
        flat_decay_mult=0.0,
        custom_keys={'cls_token': dict(decay_mult=0.0)},
    ),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, end=50),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=False,
        begin=50,
        end=max_iters,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1,
    ),
)
# Reconstructions of the held-out images while training:
# {work_dir}/reconstructions/iter_{N}.png and final.png.
custom_hooks = [
    dict(
        type='ReconstructionVisHook',
        interval=max_iters // 4,
        img_paths='data/demo/val',
    )
]

log_processor = dict(by_epoch=False, window_size=10)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
