# Kinetics-400 for VideoMAE pre-training: 16 frames with stride 4, the
# official multi-scale crop to 224 (no flip), tube mask 0.9 drawn in the
# workers. Videos are expected pre-resized to a short side of 320 (as the
# official data preparation does); `ann_file` lines are "<video> <label>".
dataset_type = 'mmaction.VideoDataset'
data_root = 'data/kinetics400/'
clip_len, frame_interval = 16, 4
img_size, patch_size, tubelet_size = 224, 16, 2
mask_grid = (
    clip_len // tubelet_size,
    img_size // patch_size,
    img_size // patch_size,
)

train_pipeline = [
    # Unreadable or truncated videos: skipped with a warning (the official
    # loader also retries another video); use on_error='raise' to fail.
    dict(type='PyAVInitOrSkip', on_error='skip'),
    dict(
        type='mmaction.SampleFrames',
        clip_len=clip_len,
        frame_interval=frame_interval,
        num_clips=1,
    ),
    dict(type='PyAVDecodeOrSkip', on_error='skip'),
    # GroupMultiScaleCrop(224, [1, .875, .75, .66]): crop sizes from the
    # scales of the short side, corner/centre offsets, then resize.
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

# Loader: this pipeline makes ~4.7 clips/s per core on a 640 x 272 H.264
# clip (measured once, docs/en/benchmarks.md, "CPU cores per GPU"), so 10
# workers feed ~47 clips/s per GPU: video decoding, not the model, bounds
# VideoMAE pre-training; give it every core the host has.
train_dataloader = dict(
    batch_size=32,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        ann_file=data_root + 'kinetics400_train_list_videos.txt',
        data_prefix=dict(video=data_root + 'videos_train'),
        pipeline=train_pipeline,
    ),
)
