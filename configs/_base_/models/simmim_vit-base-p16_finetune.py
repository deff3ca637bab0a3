# ViT-B/16 classifier for fine-tuning a SimMIM encoder (official
# simmim_finetune__vit_base config): no absolute position embedding, a
# relative position table per block (the pre-trained shared table is copied
# into each on load), layer scale, mean of the patch tokens -> fc_norm
# (SimMIMViT with out_type='avg_featmap', final_norm=False) -> Linear head
# (trunc_normal std 0.02 x init scale 0.001); drop path 0.1; label
# smoothing 0.1 with Mixup 0.8 / CutMix 1.0. Point init_cfg.checkpoint at a
# converted SimMIM checkpoint (tools/model_converters/simmim_to_mmmim.py)
# or an mmmim pre-training run.
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
        type='mmmim.SimMIMViT',
        arch='b',
        img_size=224,
        patch_size=16,
        use_mask_token=False,
        drop_path_rate=0.1,
        layer_scale_init_value=0.1,
        rel_pos_bias='per_layer',
        out_type='avg_featmap',
        final_norm=False,
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
