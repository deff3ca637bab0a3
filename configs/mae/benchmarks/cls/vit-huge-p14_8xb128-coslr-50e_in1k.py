# Fine-tune an MAE ViT-H/14 on ImageNet-1k: the official recipe (86.9
# top-1), 50 epochs, blr 1e-3, layer decay 0.75, drop path 0.3.
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
    backbone=dict(arch='h', patch_size=14, drop_path_rate=0.3),
    head=dict(in_channels=1280),
)
