# Fine-tune a VideoMAE ViT-B/16 on Kinetics-400: the official recipe (81.5
# top-1 with 5 clips x 3 crops after 1600-epoch pre-training), 75 epochs,
# total batch 384 (64 GPUs x 6, two augmented copies of each clip), bf16.
# Set model.backbone.init_cfg.checkpoint to the pre-trained weights, e.g.
#   --cfg-options model.backbone.init_cfg.checkpoint=videomae_vit-b.pth
# With 8 GPUs keep the total batch: optim_wrapper.accumulative_counts=8.
_base_ = [
    '../../../_base_/models/videomae_vit-base-p16_finetune.py',
    '../../../_base_/datasets/kinetics400_videomae_finetune.py',
    '../../../_base_/schedules/adamw_coslr_videomae_finetune.py',
    '../../../_base_/default_runtime.py',
]

optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=5,
        max_keep_ckpts=3,
        save_best='auto',
    ),
)
