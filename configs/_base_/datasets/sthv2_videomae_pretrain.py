# Something-Something V2 for VideoMAE pre-training: as Kinetics-400 but with
# a temporal stride of 2 (SSv2 clips are short and motion-centred).
_base_ = ['./kinetics400_videomae_pretrain.py']

data_root = 'data/sthv2/'
train_pipeline = [
    _base_.train_pipeline[0],
    dict(_base_.train_pipeline[1], frame_interval=2),
    *_base_.train_pipeline[2:],
]
train_dataloader = dict(
    dataset=dict(
        ann_file=data_root + 'sthv2_train_list_videos.txt',
        data_prefix=dict(video=data_root + 'videos'),
        pipeline=train_pipeline,
    )
)
