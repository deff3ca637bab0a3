# ConvMAE-B, the official recipe (Alpha-VL/ConvMAE PRETRAIN.md): 1600
# epochs, 40 warm-up, AdamW (0.9, 0.95), wd 0.05, blr 1.5e-4, mask 0.75,
# norm-pix; bf16 autocast. lr = blr * total_batch / 256: 6e-4 for 8 x 128.
# The released model used 3 nodes x 8 GPUs x 128 = 3072 images per step
# (lr 1.8e-3); `--auto-scale-lr` derives it from the actual batch.
_base_ = [
    '../_base_/models/convmae_convvit-base-p16.py',
    '../_base_/datasets/imagenet_mae.py',
    '../_base_/schedules/adamw_coslr_mae.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=128)

# bf16 autocast without loss scaling, as the MAE recipes; mmengine's
# AmpOptimWrapper(dtype='float16') gives the official fp16 + GradScaler.
optim_wrapper = dict(
    type='AutocastOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(lr=1.5e-4 * 1024 / 256),
)

auto_scale_lr = dict(base_batch_size=1024)
