# VideoMAE ViT-B/16 on Kinetics-400, the official recipe: 16 frames x
# stride 4, tube mask 0.9, decoder depth 4, 1600 epochs (the released
# checkpoint ran 1601), total batch 2048 (64 GPUs x 32), bf16 autocast.
# Fewer GPUs: keep the total batch with
# --cfg-options optim_wrapper.accumulative_counts=N (64 / GPUs), or scale
# the learning rate with --auto-scale-lr.
_base_ = [
    '../_base_/models/videomae_vit-base-p16.py',
    '../_base_/datasets/kinetics400_videomae_pretrain.py',
    '../_base_/schedules/adamw_coslr_videomae.py',
    '../_base_/default_runtime.py',
]

# bf16 autocast without loss scaling; mmengine's
# AmpOptimWrapper(dtype='float16') gives the official fp16 + GradScaler.
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
