# Fine-tune a SimMIM ViT-B/16 (800-epoch pre-training) on ImageNet-1k: the
# official recipe (83.8 top-1), 100 epochs, total batch 2048 (16 GPUs x
# 128), layer decay 0.65. Set the pre-trained weights with
#   --cfg-options model.backbone.init_cfg.checkpoint=simmim_vit-b.pth
_base_ = [
    '../../../_base_/models/simmim_vit-base-p16_finetune.py',
    '../../../_base_/datasets/imagenet_bs128_mae_finetune.py',
    '../../../_base_/schedules/adamw_coslr_simmim_finetune.py',
    '../../../_base_/default_runtime.py',
]

# The official ViT excludes pos_embed and cls_token (and 1-D parameters)
# from weight decay; the per-layer relative position tables are decayed.
optim_wrapper = dict(
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        custom_keys={
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
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
