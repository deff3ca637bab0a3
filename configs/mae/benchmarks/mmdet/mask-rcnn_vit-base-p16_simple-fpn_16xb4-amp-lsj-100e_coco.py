# Mask R-CNN on a plain MAE ViT-B (ViTDet, Li et al. 2022), COCO, the
# recipe of mmdet's projects/ViTDet port (51.6 box / 45.7 mask AP):
# * backbone: WindowedViT (the MAE ViT) at 1024: no cls token, 14 x 14
#   windows (padded) with global attention in blocks 2, 5, 8, 11, relative
#   position biases, learnable position table (resized from the
#   pre-trained 14 x 14 one), no final norm, drop path 0.1;
# * simple feature pyramid from the stride-16 map (mmmim.SimpleFPN,
#   strides 4-32 plus P6) with channels-first LayerNorms; RPN with 2 convs,
#   4conv1fc box head, LN in the heads;
# * LSJ at 1024; total batch 64 (16 GPUs x 4); AdamW lr 1e-4, betas
#   (0.9, 0.999), wd 0.1 (none on norms, pos_embed and bias tables),
#   layer-wise lr decay 0.7; linear warm-up over 250 iterations, then x0.1
#   at 163889 and 177546 of 184375 iterations (100 epochs); AMP.
# Set model.backbone.init_cfg.checkpoint to MAE pre-trained weights: an
# mmmim MAE run, or an official mae_pretrain_vit_base.pth converted with
# tools/model_converters/mae_to_mmmim.py. The official checkpoint's
# cls_token and final norm are reported as unexpected (not used here).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../../../_base_/datasets/coco_instance_lsj-1024.py',
    'mmdet::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmmim.models'], allow_failed_imports=False)

norm_cfg = dict(type='mmpretrain.LN2d', eps=1e-6)
model = dict(
    # Every batch padded (after normalisation, with 0) to 1024 x 1024, in
    # training and test alike: the global attention blocks and position
    # tables then always see the 64 x 64 grid. Padding here rather than in
    # the test pipeline keeps img_shape, so mask pasting stays in bounds.
    data_preprocessor=dict(pad_size_divisor=1024),
    backbone=dict(
        _delete_=True,
        type='mmmim.WindowedViT',
        arch='b',
        img_size=1024,
        patch_size=16,
        out_indices=(11,),
        final_norm=False,
        drop_path_rate=0.1,
        pos_embed_trainable=True,
        window_size=14,
        global_attn_indexes=(2, 5, 8, 11),
        use_rel_pos_bias=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
    neck=dict(
        _delete_=True,
        type='mmmim.SimpleFPN',
        in_channels=768,
        out_channels=256,
        scales=(4, 2, 1, 0.5),
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

max_iters = 184375
eval_interval = 5000

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    constructor='mmmim.LayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1
    ),
    paramwise_cfg=dict(
        layer_decay_rate=0.7,
        norm_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
        },
    ),
)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250
    ),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[163889, 177546],
        gamma=0.1,
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

# ViTDet's total batch: 16 GPUs x 4 images.
auto_scale_lr = dict(enable=False, base_batch_size=64)
