# VideoMAE ViT-L/16 on Kinetics-400, the official recipe
# (scripts/kinetics/videomae_vit_large_patch16_224_tubemasking_ratio_0.9_
# epoch_1600/pretrain.sh, MCG-NJU/VideoMAE 14ef8d8): the large encoder, the
# 512-d, 8-head decoder of pretrain_videomae_large_patch16_224 with
# --decoder_depth 12, 8 clips per GPU x 64 GPUs = 512 in total. lr,
# warmup_lr and min_lr scale with 512 / 256: 3e-4, 2e-6 and 2e-5.
_base_ = './videomae_vit-base-p16_64xb32-amp-coslr-1600e_k400-16x4x1.py'

total_batch = 512
lr = 1.5e-4 * total_batch / 256
warmup_lr = 1e-6 * total_batch / 256
min_lr = 1e-5 * total_batch / 256

model = dict(
    backbone=dict(arch='l'),
    neck=dict(
        embed_dims=1024,
        decoder_embed_dims=512,
        decoder_num_layers=12,
        decoder_num_heads=8,
    ),
)

train_dataloader = dict(batch_size=8)
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=warmup_lr / lr),
    dict(_base_.param_scheduler[1], eta_min=min_lr),
]
auto_scale_lr = dict(base_batch_size=total_batch)
