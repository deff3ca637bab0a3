# Fine-tune a VideoMAE ViT-B/16 on Something-Something V2: the official
# recipe (70.8 top-1 with 2 clips x 3 crops after 2400-epoch pre-training),
# 30 epochs, total batch 384 (64 GPUs x 6, two copies per clip), 174
# classes. SSv2 samples 16 frames uniformly over the video (one per
# segment) and does not flip (left/right matters for its labels).
_base_ = ['./vit-base-p16_64xb6-coslr-75e_k400-16x4x1.py']

num_classes = 174
data_root = 'data/sthv2/'
max_epochs = 30

model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(num_classes=num_classes),
)
sampling = dict(type='mmaction.UniformSample', clip_len=16)
augment = [
    transform
    for transform in _base_.augment
    if transform['type'] != 'mmaction.Flip'
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
    *_base_.val_pipeline[2:],
]
test_pipeline = [
    _base_.test_pipeline[0],
    dict(sampling, num_clips=2, test_mode=True),
    *_base_.test_pipeline[2:],
]
train_dataloader = dict(
    dataset=dict(
        ann_file=data_root + 'sthv2_train_list_videos.txt',
        data_prefix=dict(video=data_root + 'videos'),
        pipeline=train_pipeline,
    )
)
val_dataloader = dict(
    dataset=dict(
        ann_file=data_root + 'sthv2_val_list_videos.txt',
        data_prefix=dict(video=data_root + 'videos'),
        pipeline=val_pipeline,
    )
)
test_dataloader = dict(
    dataset=dict(
        ann_file=data_root + 'sthv2_val_list_videos.txt',
        data_prefix=dict(video=data_root + 'videos'),
        pipeline=test_pipeline,
    )
)
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], end=max_epochs),
]
