# ViT-B/16 classifier for fine-tuning an MAE encoder (official
# models_vit.py with --global_pool): mean of the patch tokens -> fc_norm
# (inside MAEViT, out_type='avg_featmap', final_norm=False) -> Linear head
# (trunc_normal std 2e-5); drop path 0.1; learnable pos_embed; label
# smoothing 0.1 with Mixup 0.8 / CutMix 1.0 (one of the two per batch).
# Point init_cfg.checkpoint at a converted MAE checkpoint
# (tools/model_converters/mae_to_mmmim.py) or an mmmim pre-training run.
model = dict(
    type='mmpretrain.ImageClassifier',
    # ImageClassifier builds its parts (preprocessor, head, loss, batch
    # augments) with unprefixed defaults: build them in mmpretrain's scope.
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
        type='mmmim.MAEViT',
        arch='b',
        img_size=224,
        patch_size=16,
        mask_generator=None,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False,
        pos_embed_trainable=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
    neck=None,
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(
            type='mmpretrain.LabelSmoothLoss',
            label_smooth_val=0.1,
            mode='original',
        ),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)],
    ),
    train_cfg=dict(
        augments=[
            dict(type='mmpretrain.Mixup', alpha=0.8),
            dict(type='mmpretrain.CutMix', alpha=1.0),
        ]
    ),
)
