# The official SimMIM 800-epoch pre-training schedule: AdamW (0.9, 0.999,
# eps 1e-8), lr = base_lr 1e-4 x total batch / 512 (2048 -> 4e-4), weight
# decay 0.05 except on 1-D parameters (norms, biases, layer scales), grad
# clipping at 5; 10 linear warm-up epochs from warmup_lr 5e-7 (scaled
# alike), then the constant lr divided by 10 at epoch 700.
base_lr = 1e-4
warmup_lr = 5e-7
total_batch = 2048

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW',
        lr=base_lr * total_batch / 512,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.05,
    ),
    clip_grad=dict(max_norm=5.0),
    # Encoder-specific names without decay are added by each config.
    paramwise_cfg=dict(flat_decay_mult=0.0),
)

warmup_epochs = 10
max_epochs = 800

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=warmup_lr / base_lr,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    dict(
        type='MultiStepLR',
        milestones=[700],
        gamma=0.1,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# `--auto-scale-lr` rescales lr from the batch size it was set for
# (the /512 rule is already in lr).
auto_scale_lr = dict(base_batch_size=total_batch)
