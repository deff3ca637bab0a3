# ImageNet-1k for the MAE linear probe (official main_linprobe.py):
# RandomResizedCrop(224, bicubic) + flip; evaluation Resize(256, bicubic) +
# CenterCrop(224).
_base_ = './imagenet_bs128_mae_finetune.py'

train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(
        type='mmpretrain.RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic',
    ),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]

# The official recipe drops the last incomplete batch in training.
train_dataloader = dict(
    batch_size=2048,
    drop_last=True,
    dataset=dict(pipeline=train_pipeline),
)
