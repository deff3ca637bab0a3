# A CPU smoke test of VideoMAE fine-tuning on the demo clips
# (tools/misc/prepare_demo_videos.py): a tiny video ViT classifies
# 8-frame 64 x 64 clips by their source video (3 classes), with the full
# fine-tuning machinery (RandAugment, repeated augmentation, Mixup/CutMix,
# layer decay) and the multi-view test (2 clips x 3 crops). Point
# init_cfg.checkpoint at the VideoMAE demo checkpoint to fine-tune it.
_base_ = ['./vit-base-p16_64xb6-coslr-75e_k400-16x4x1.py']

num_classes = 3
data_root = 'data/demo_video/'
clip_len, frame_interval, img_size = 8, 2, 64
max_iters = 100

model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=4,
            num_heads=3,
            feedforward_channels=768,
        ),
        img_size=img_size,
        num_frames=clip_len,
        patch_size=8,
        init_cfg=None,
    ),
    head=dict(num_classes=num_classes, in_channels=192),
)

sampling = dict(
    type='mmaction.SampleFrames',
    clip_len=clip_len,
    frame_interval=frame_interval,
    num_clips=1,
)
augment = [
    *_base_.augment[:2],
    dict(_base_.augment[2], scale=(img_size, img_size)),
    *_base_.augment[3:],
]
train_pipeline = [
    _base_.train_pipeline[0],
    sampling,
    _base_.train_pipeline[2],
    dict(type='RepeatAugment', transforms=augment, num_repeats=2),
    _base_.train_pipeline[4],
]
val_pipeline = [
    _base_.val_pipeline[0],
    dict(sampling, test_mode=True),
    _base_.val_pipeline[2],
    dict(_base_.val_pipeline[3], scale=(-1, img_size)),
    dict(_base_.val_pipeline[4], crop_size=img_size),
    *_base_.val_pipeline[5:],
]
test_pipeline = [
    _base_.test_pipeline[0],
    dict(sampling, num_clips=2, test_mode=True),
    _base_.test_pipeline[2],
    dict(_base_.test_pipeline[3], scale=(-1, img_size)),
    dict(_base_.test_pipeline[4], crop_size=img_size),
    *_base_.test_pipeline[5:],
]
dataset = dict(
    data_prefix=dict(video=data_root + 'videos'),
)
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        dataset, ann_file=data_root + 'train.txt', pipeline=train_pipeline
    ),
)
val_dataloader = dict(
    batch_size=3,
    num_workers=1,
    dataset=dict(
        dataset, ann_file=data_root + 'val.txt', pipeline=val_pipeline
    ),
)
test_dataloader = dict(
    batch_size=3,
    num_workers=1,
    dataset=dict(
        dataset, ann_file=data_root + 'val.txt', pipeline=test_pipeline
    ),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1,))
test_evaluator = val_evaluator

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05
    ),
    constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, end=10),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=False,
        begin=10,
        end=max_iters,
    ),
]
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters,
)
auto_scale_lr = dict(base_batch_size=4)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1,
        save_best=None,
    ),
)
log_processor = dict(by_epoch=False, window_size=5)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
