# MAE on Fashion-MNIST on a CPU (the study runner, docs/en/study.md,
# derives its runs from the released configs instead): a "mini" ViT (128-d, 4
# blocks, 4 heads) on 28 x 28 images in 4 x 4 patches (a 7 x 7 grid), a
# 2-block 64-d decoder, 75% random masking, normalised-pixel target.
# lr 1.5e-3 at batch 128 (a short schedule needs more than the ImageNet
# blr 1.5e-4); 1 warm-up epoch, cosine.
_base_ = [
    '../_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/fashion_mnist_28px.py',
    '../_base_/default_runtime.py',
]

img_size = 28
patch_size = 4
embed_dims = 128
max_epochs = 3
warmup_epochs = 1

model = dict(
    data_preprocessor=dict(
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
        img_size=img_size,
        patch_size=patch_size,
    ),
    neck=dict(
        num_patches=(img_size // patch_size) ** 2,
        patch_size=patch_size,
        embed_dims=embed_dims,
        decoder_embed_dims=64,
        decoder_num_layers=2,
        decoder_num_heads=4,
    ),
    head=dict(patch_size=patch_size, norm_pix=True),
)

# Labels are not used in pre-training; there is no validation.
train_dataloader = dict(batch_size=128)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05
    ),
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
        eta_min=1e-5,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=128)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='AtomicCheckpointHook', interval=max_epochs),
)
log_processor = dict(by_epoch=True, window_size=50)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
