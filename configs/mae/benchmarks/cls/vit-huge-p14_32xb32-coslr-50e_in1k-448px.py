# Fine-tune an MAE ViT-H/14 at 448 pixels (87.8 top-1): the ViT-H recipe at
# total batch 1024 (32 GPUs x 32). The 16 x 16 position table of the
# 224-pixel pre-training is resized (bicubic, cls row kept) to 32 x 32 when
# the checkpoint is loaded. Evaluation as official above 224 pixels:
# Resize(448, bicubic) + CenterCrop(448) (crop_pct 1.0).
_base_ = './vit-huge-p14_8xb128-coslr-50e_in1k.py'

img_size = 448

model = dict(backbone=dict(img_size=img_size))

train_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(
        type='mmpretrain.RandomResizedCrop',
        scale=img_size,
        backend='pillow',
        interpolation='bicubic',
    ),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='mmpretrain.RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic'),
    ),
    dict(
        type='mmpretrain.RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=[103.53, 116.28, 123.675],
        fill_std=[57.375, 57.12, 58.395],
    ),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(
        type='mmpretrain.ResizeEdge',
        scale=img_size,
        edge='short',
        backend='pillow',
        interpolation='bicubic',
    ),
    dict(type='mmpretrain.CenterCrop', crop_size=img_size),
    dict(type='mmpretrain.PackInputs'),
]

train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=32, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
