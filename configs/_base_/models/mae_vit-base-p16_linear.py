# ViT-B/16 linear probe of an MAE encoder (official main_linprobe.py): the
# frozen encoder's cls token after the final norm -> BatchNorm1d without
# affine (eps 1e-6) -> Linear (trunc_normal std 0.01). For pooled features
# set backbone out_type='avg_featmap' and final_norm=False (the frozen,
# freshly initialised fc_norm is the official parameter-free LN).
model = dict(
    type='mmpretrain.ImageClassifier',
    _scope_='mmpretrain',
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='mmmim.MAEViT',
        arch='b',
        img_size=224,
        patch_size=16,
        mask_generator=None,
        # Every block, the embeddings and the norms are frozen.
        frozen_stages=12,
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
    neck=dict(
        type='mmpretrain.ClsBatchNormNeck',
        input_features=768,
        affine=False,
        eps=1e-6,
    ),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)],
    ),
)
