# Fine-tune the Fashion-MNIST MAE encoder
# (../../mae_vit-mini-p4_1xb128-coslr-3e_fashion-mnist.py) on a 10k-image
# labelled subset of the training set, tested on the 10k test images: the
# MAE recipe (global pool + fc_norm, drop path 0.1, layer decay 0.75, AdamW,
# label smoothing 0.1) shortened for CPU: 4 epochs (1 warm-up), lr 2e-3 at
# batch 128, and flips only (Mixup, CutMix, RandAugment and random crops
# need longer schedules than this).
# The study runner (tools/analysis_tools/mim_study.py) sets the checkpoint,
# the epochs and the full 60k training set.
_base_ = [
    '../../../_base_/models/mae_vit-base-p16_finetune.py',
    '../../../_base_/datasets/fashion_mnist_28px.py',
    '../../../_base_/schedules/adamw_coslr_mae_finetune.py',
    '../../../_base_/default_runtime.py',
]

embed_dims = 128
max_epochs = 4
warmup_epochs = 1

model = dict(
    data_preprocessor=dict(
        num_classes=10,
        mean={{_base_.fashion_mnist_mean}},
        std={{_base_.fashion_mnist_std}},
        to_rgb=False,
    ),
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=embed_dims,
            num_layers=4,
            num_heads=4,
            feedforward_channels=4 * embed_dims,
        ),
        img_size=28,
        patch_size=4,
        drop_path_rate=0.1,
    ),
    head=dict(num_classes=10, in_channels=embed_dims),
    train_cfg=None,
)

train_dataloader = dict(
    batch_size=128,
    dataset=dict(
        subset_size=10000,
        subset_seed=0,
        pipeline=[
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='mmpretrain.PackInputs'),
        ],
    ),
)

optim_wrapper = dict(
    optimizer=dict(lr=2e-3),
    paramwise_cfg=dict(layer_decay_rate=0.75),
)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=128)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='AtomicCheckpointHook', interval=max_epochs),
)
log_processor = dict(by_epoch=True, window_size=20)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
