# The official MAE pre-training schedule: AdamW, 40 warm-up epochs, cosine.
# lr = base_lr * total_batch / 256 with base_lr 1.5e-4 and batch 4096.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW',
        lr=1.5e-4 * 4096 / 256,
        betas=(0.9, 0.95),
        weight_decay=0.05,
        fused=True,
    ),
    # No decay on norms, biases, position tables and learned tokens
    # (custom keys match substrings, so `mask_token` and `pos_embed` also
    # cover the decoder's).
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.0),
            'cls_token': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0),
        },
    ),
)

warmup_epochs = 40
max_epochs = 1600

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=0.0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# `--auto-scale-lr` rescales lr from the batch size it was set for.
auto_scale_lr = dict(base_batch_size=4096)
