# ViT-B/16 video classifier for fine-tuning a VideoMAE encoder (official
# modeling_finetune.py, use_mean_pooling): mean of all tokens -> fc_norm
# (inside VideoMAEViT, out_type='avg_featmap', final_norm=False) -> Linear
# head (trunc-normal std 0.02 times init_scale 0.001); drop path 0.1;
# label smoothing 0.1 with Mixup 0.8 / CutMix 1.0 (one of the two per
# batch). Test views (clips x crops) are averaged after a softmax, as the
# official test. Point init_cfg.checkpoint at a converted VideoMAE
# checkpoint (tools/model_converters/videomae_to_mmmim.py) or an mmmim
# pre-training run.
num_classes = 400
model = dict(
    type='mmmim.VideoClassifier',
    # ImageClassifier builds its parts (head, loss, batch augments) with
    # unprefixed defaults: build them in mmpretrain's scope.
    _scope_='mmpretrain',
    average_clips='prob',
    data_preprocessor=dict(
        type='mmmim.VideoDataPreprocessor',
        num_classes=num_classes,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
    ),
    backbone=dict(
        type='mmmim.VideoMAEViT',
        arch='b',
        img_size=224,
        num_frames=16,
        patch_size=16,
        tubelet_size=2,
        mask_generator=None,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
    neck=None,
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=num_classes,
        in_channels=768,
        loss=dict(
            type='mmpretrain.LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
        ),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.02 * 0.001)],
    ),
    train_cfg=dict(
        augments=[
            dict(type='mmpretrain.Mixup', alpha=0.8),
            dict(type='mmpretrain.CutMix', alpha=1.0),
        ]
    ),
)
