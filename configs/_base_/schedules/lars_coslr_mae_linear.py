# The official MAE linear-probe schedule: LARS (momentum 0.9, trust
# coefficient 0.001, no weight decay), lr = blr 0.1 x total batch / 256
# (16384 -> 6.4), 10 linear warm-up epochs then cosine to 0, 90 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='mmpretrain.LARS',
        lr=0.1 * 16384 / 256,
        weight_decay=0.0,
        momentum=0.9,
        eta=0.001,
    ),
    # As the official LARS: no trust-ratio scaling of 1-D parameters.
    paramwise_cfg=dict(custom_keys={'.bias': dict(lars_exclude=True)}),
)

warmup_epochs = 10
max_epochs = 90

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

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1
)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=16384)
