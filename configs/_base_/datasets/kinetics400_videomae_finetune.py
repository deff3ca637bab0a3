# Kinetics-400 for VideoMAE fine-tuning (official kinetics.py): 16 frames x
# stride 4; per clip RandAugment (m7, n4; the same ops on every frame),
# random resized crop (area 0.08-1, ratio 3/4-4/3) to 224, horizontal flip
# and random erasing 0.25, two augmented copies of each decoded clip
# (--num_sample 2, repeated augmentation). Validation: one centre clip;
# test: 5 clips x 3 crops at short side 224. Videos are expected
# pre-resized to a short side of 320; ann_file lines "<video> <label>".
dataset_type = 'mmaction.VideoDataset'
data_root = 'data/kinetics400/'
clip_len, frame_interval, img_size = 16, 4, 224
num_test_clips, num_test_crops = 5, 3

augment = [
    # torchvision's RandAugment on the [T, C, H, W] clip draws its ops once
    # per clip. (The official timm policy adds magnitude noise mstd 0.5.)
    dict(
        type='mmaction.TorchVisionWrapper',
        op='RandAugment',
        num_ops=4,
        magnitude=7,
    ),
    dict(
        type='mmaction.RandomResizedCrop',
        area_range=(0.08, 1.0),
        aspect_ratio_range=(3 / 4, 4 / 3),
    ),
    dict(type='mmaction.Resize', scale=(img_size, img_size), keep_ratio=False),
    dict(type='mmaction.Flip', flip_ratio=0.5),
    dict(type='mmaction.RandomErasing', erase_prob=0.25, mode='rand'),
    dict(type='mmaction.FormatShape', input_format='NCTHW'),
]
train_pipeline = [
    dict(type='PyAVInitOrSkip', on_error='skip'),
    dict(
        type='mmaction.SampleFrames',
        clip_len=clip_len,
        frame_interval=frame_interval,
        num_clips=1,
    ),
    dict(type='PyAVDecodeOrSkip', on_error='skip'),
    dict(type='RepeatAugment', transforms=augment, num_repeats=2),
    dict(type='PackVideoInputs'),
]


# Decoding and formatting around the view sampling of val/test.
decode = dict(type='PyAVDecodeOrSkip')
val_pipeline = [
    dict(type='PyAVInitOrSkip'),
    dict(
        type='mmaction.SampleFrames',
        clip_len=clip_len,
        frame_interval=frame_interval,
        num_clips=1,
        test_mode=True,
    ),
    decode,
    dict(type='mmaction.Resize', scale=(-1, img_size)),
    dict(type='mmaction.CenterCrop', crop_size=img_size),
    dict(type='mmaction.FormatShape', input_format='NCTHW'),
    dict(type='PackVideoInputs'),
]
test_pipeline = [
    *val_pipeline[:1],
    dict(val_pipeline[1], num_clips=num_test_clips),
    *val_pipeline[2:4],
    dict(type='mmaction.ThreeCrop', crop_size=img_size),
    *val_pipeline[5:],
]

train_dataloader = dict(
    batch_size=6,
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
val_dataloader = dict(
    batch_size=6,
    num_workers=10,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        ann_file=data_root + 'kinetics400_val_list_videos.txt',
        data_prefix=dict(video=data_root + 'videos_val'),
        pipeline=val_pipeline,
        test_mode=True,
    ),
)
test_dataloader = dict(
    val_dataloader,
    batch_size=1,
    dataset=dict(val_dataloader['dataset'], pipeline=test_pipeline),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
