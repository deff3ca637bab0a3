# Linear probe of an MAE ViT-B/16 on ImageNet-1k: the official recipe (68.0
# top-1 in the paper), frozen encoder, cls token, BatchNorm without affine +
# Linear, LARS lr 6.4 at total batch 16384 (8 GPUs x 2048), 90 epochs.
# Set model.backbone.init_cfg.checkpoint to the pre-trained weights.
_base_ = [
    '../../../_base_/models/mae_vit-base-p16_linear.py',
    '../../../_base_/datasets/imagenet_bs2048_mae_linear.py',
    '../../../_base_/schedules/lars_coslr_mae_linear.py',
    '../../../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto',
    ),
)
