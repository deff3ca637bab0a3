# Swin-B (window 7, 224 pixels) classifier for fine-tuning a SimMIM encoder
# (official simmim_finetune__swin_base config): the window-6 pre-training
# tables are resized on load with the official geometric interpolation
# (SimMIMSwin), final norm -> global average pooling -> Linear head
# (trunc_normal std 0.02); drop path 0.1; label smoothing 0.1 with Mixup
# 0.8 / CutMix 1.0. Point init_cfg.checkpoint at a converted SimMIM
# checkpoint (tools/model_converters/simmim_to_mmmim.py) or an mmmim
# pre-training run.
model = dict(
    type='mmpretrain.ImageClassifier',
    _scope_='mmpretrain',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=1000,
        # ImageNet mean/std on RGB; images are loaded as BGR.
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmmim.SimMIMSwin',
        arch='b',
        img_size=224,
        window_size=7,
        use_mask_token=False,
        drop_path_rate=0.1,
        out_indices=(3,),
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(
            type='mmpretrain.LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
        ),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.02)],
    ),
    train_cfg=dict(
        augments=[
            dict(type='mmpretrain.Mixup', alpha=0.8),
            dict(type='mmpretrain.CutMix', alpha=1.0),
        ]
    ),
)
