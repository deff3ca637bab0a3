# Fine-tune an MAE ViT-L/16 on ImageNet-1k: the official recipe (85.9
# top-1), 50 epochs, blr 1e-3 (lr 4e-3 at batch 1024), layer decay 0.75,
# drop path 0.2.
_base_ = [
    '../../../_base_/models/mae_vit-base-p16_finetune.py',
    '../../../_base_/datasets/imagenet_bs128_mae_finetune.py',
    '../../../_base_/schedules/adamw_coslr_mae_finetune_50e.py',
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

model = dict(
    backbone=dict(arch='l', drop_path_rate=0.2),
    head=dict(in_channels=1024),
)
