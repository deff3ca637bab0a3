# The official VideoMAE pre-training schedule (run_mae_pretraining.py):
# AdamW (0.9, 0.95), wd 0.05, 40 warm-up epochs from warmup_lr, then a
# per-iteration cosine to min_lr. lr, warmup_lr and min_lr all scale with
# total_batch / 256: base 1.5e-4, 1e-6 and 1e-5 at the official batch of
# 2048 (32 per GPU x 64 GPUs) give 1.2e-3, 8e-6 and 8e-5.
total_batch = 2048
lr = 1.5e-4 * total_batch / 256
warmup_lr = 1e-6 * total_batch / 256
min_lr = 1e-5 * total_batch / 256

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=lr, betas=(0.9, 0.95), weight_decay=0.05, fused=True
    ),
    # No decay on norms, biases and the mask token (1-D parameters).
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={'mask_token': dict(decay_mult=0.0)},
    ),
)

warmup_epochs = 40
max_epochs = 1600

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=warmup_lr / lr,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=min_lr,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# `--auto-scale-lr` rescales lr for other total batch sizes. With fewer
# GPUs, keep the total batch with gradient accumulation instead:
# optim_wrapper.accumulative_counts = 2048 / (gpus x batch_size).
auto_scale_lr = dict(base_batch_size=total_batch)
