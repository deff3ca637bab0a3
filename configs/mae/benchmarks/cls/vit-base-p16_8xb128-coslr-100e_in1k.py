# Fine-tune an MAE ViT-B/16 on ImageNet-1k: the official recipe (83.6 top-1
# in the paper), 100 epochs, total batch 1024 (8 GPUs x 128).
# Set model.backbone.init_cfg.checkpoint to the pre-trained weights, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=mae_vit-b.pth
_base_ = [
    '../../../_base_/models/mae_vit-base-p16_finetune.py',
    '../../../_base_/datasets/imagenet_bs128_mae_finetune.py',
    '../../../_base_/schedules/adamw_coslr_mae_finetune.py',
    '../../../_base_/default_runtime.py',
]

default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto',
    ),
)
