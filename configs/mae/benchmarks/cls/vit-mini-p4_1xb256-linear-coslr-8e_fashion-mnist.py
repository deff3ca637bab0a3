# Linear probe of the Fashion-MNIST MAE encoder on a 10k-image labelled
# subset, tested on the 10k test images: the MAE protocol (frozen encoder,
# BatchNorm without affine + Linear, LARS) on globally pooled patch tokens,
# 8 epochs (1 warm-up). Two changes for this short CPU run: LARS scales each
# step to lr x 1e-3 of the weight norm, so ~300 steps need lr 32 (the
# official probe takes 7k steps at lr 6.4); and the training images are
# only flipped, as random crops of 28-pixel images shift the BatchNorm
# statistics away from the uncropped test images.
_base_ = [
    '../../../_base_/models/mae_vit-base-p16_linear.py',
    '../../../_base_/datasets/fashion_mnist_28px.py',
    '../../../_base_/schedules/lars_coslr_mae_linear.py',
    '../../../_base_/default_runtime.py',
]

embed_dims = 128
max_epochs = 8
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
        frozen_stages=4,
        out_type='avg_featmap',
        final_norm=False,
    ),
    neck=dict(input_features=embed_dims),
    head=dict(num_classes=10, in_channels=embed_dims),
)

train_dataloader = dict(
    batch_size=256,
    dataset=dict(
        subset_size=10000,
        subset_seed=0,
        pipeline=[
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='mmpretrain.PackInputs'),
        ],
    ),
)

optim_wrapper = dict(optimizer=dict(lr=32.0))
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
        eta_min=0.0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=256)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='AtomicCheckpointHook', interval=max_epochs),
)
log_processor = dict(by_epoch=True, window_size=20)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
