# Fine-tune a SimMIM Swin-B (800-epoch pre-training at 192, window 6) on
# ImageNet-1k at 224 with window 7: the official recipe (84.0 top-1), 100
# epochs, total batch 2048 (16 GPUs x 128), layer decay 0.8. Set the
# pre-trained weights with
#   --cfg-options model.backbone.init_cfg.checkpoint=simmim_swin-b.pth
_base_ = [
    '../../../_base_/models/simmim_swin-base-w7_finetune.py',
    '../../../_base_/datasets/imagenet_bs128_mae_finetune.py',
    '../../../_base_/schedules/adamw_coslr_simmim_finetune.py',
    '../../../_base_/default_runtime.py',
]

# The official Swin excludes absolute_pos_embed and the relative position
# tables (and 1-D parameters) from weight decay.
optim_wrapper = dict(
    paramwise_cfg=dict(
        layer_decay_rate=0.8,
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
        },
    )
)

default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto',
    ),
)
