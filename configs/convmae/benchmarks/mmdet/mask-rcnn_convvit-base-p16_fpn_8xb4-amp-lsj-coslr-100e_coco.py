# Mask R-CNN with FPN on a ConvMAE-B encoder (ConvViT E1-E4), COCO, the
# official recipe of Alpha-VL/ConvMAE DET/ (detectron2,
# convmae_base_mask_rcnn_FPN_100ep.py) in mmdet terms:
# * backbone: ConvViT-B at 1024, window 16 with global attention in stage-3
#   blocks 0, 3, 6, 10, one relative position bias table per attention
#   kind, fixed position table, drop path 0.1; E1-E4 = 256/384/768/768
#   channels at strides 4/8/16/32 (E4 = 2x2 max-pool of E3);
# * FPN (5 levels, P6 by max-pool), RPN with 2 convs, 4conv1fc box head,
#   SyncBN in the FPN and the heads;
# * LSJ at 1024; total batch 32 (8 GPUs x 4); AdamW lr 8e-5, betas
#   (0.9, 0.999), wd 0.1, no wd on norms, pos_embed and the relative
#   position tables, no layer decay; cosine to 0 over the whole run with a
#   linear warm-up (factor 0.001) over the first 461 iterations; AMP.
# 368750 iterations at batch 32 = 100 epochs; evaluation and checkpoints
# every 3688 iterations. The 25-epoch schedule reports 53.2 box AP / 47.1
# mask AP officially. Set model.backbone.init_cfg.checkpoint to pre-trained
# weights: an mmmim ConvMAE run, or an official convmae_base.pth converted
# with tools/model_converters/convmae_to_mmmim.py.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../../../_base_/datasets/coco_instance_lsj-1024.py',
    'mmdet::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmmim.models'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # Every batch padded (after normalisation, with 0) to 1024 x 1024, in
    # training and test alike: the global attention blocks and position
    # tables then always see the 64 x 64 grid. Padding here rather than in
    # the test pipeline keeps img_shape, so mask pasting stays in bounds.
    data_preprocessor=dict(pad_size_divisor=1024),
    backbone=dict(
        _delete_=True,
        type='mmmim.ConvViT',
        arch='b',
        img_size=1024,
        out_indices=(0, 1, 2, 3),
        window_size=16,
        global_attn_indexes=(0, 3, 6, 10),
        use_rel_pos_bias=True,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
    neck=dict(
        in_channels=[256, 384, 768, 768],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg,
    ),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg,
        ),
        mask_head=dict(norm_cfg=norm_cfg),
    ),
)

max_iters = 368750
warmup_iters = 461
eval_interval = 3688

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW', lr=8e-5, betas=(0.9, 0.999), weight_decay=0.1
    ),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
        },
    ),
)
# The cosine spans the whole run and the warm-up multiplies its start, as
# detectron2's WarmupParamScheduler does.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.001,
        by_epoch=False,
        begin=0,
        end=warmup_iters,
    ),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        T_max=max_iters,
        eta_min=0.0,
    ),
]

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=eval_interval
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    checkpoint=dict(
        type='mmmim.AtomicCheckpointHook',
        by_epoch=False,
        interval=eval_interval,
        max_keep_ckpts=3,
    ),
)
log_processor = dict(by_epoch=False)

# Official total batch: 8 GPUs x 4 images.
auto_scale_lr = dict(enable=False, base_batch_size=32)
