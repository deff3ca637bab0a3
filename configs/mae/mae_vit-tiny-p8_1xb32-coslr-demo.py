# A CPU demo of MAE: a tiny ViT (192-d, 6 layers, 8-pixel patches) learns to
# reconstruct 64 x 64 crops of the demo photos and video frames in a few
# minutes on 2 cores (`make demo`, or tools/misc/run_demo.sh).
_base_ = [
    '../_base_/models/mae_vit-base-p16.py',
    '../_base_/datasets/demo_64px.py',
    '../_base_/default_runtime.py',
]

img_size = 64
patch_size = 8
max_iters = 2000

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=6,
            num_heads=3,
            feedforward_channels=768,
        ),
        img_size=img_size,
        patch_size=patch_size,
    ),
    neck=dict(
        num_patches=(img_size // patch_size) ** 2,
        patch_size=patch_size,
        embed_dims=192,
        decoder_embed_dims=128,
        decoder_num_layers=2,
        decoder_num_heads=4,
    ),
    # Plain pixel targets: the figures then show only what the model
    # predicts (a norm-pix model is drawn with the hidden patches' own
    # mean and variance, which flatters it), as the official MAE did for
    # its visualisation checkpoints.
    head=dict(patch_size=patch_size, norm_pix=False),
)

# A higher lr than the ImageNet recipe (1.5e-4 x 32 / 256) for a short run.
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
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, end=100),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-5,
        by_epoch=False,
        begin=100,
        end=max_iters,
    ),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
auto_scale_lr = dict(base_batch_size=32)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1,
    ),
)
# Weighted kNN top-1 of the frozen encoder's cls token (docs/en/knn.md):
# the class folders of data/demo are the labels (bigbuckbunny, bikes,
# carphone_pristine, photos); the train images vote, the 6 held-out val
# images are classified. Logged as knn/top1 (one val image = 16.7 points).
knn_pipeline = [
    dict(type='LoadImageOrSkip'),
    dict(
        type='mmpretrain.ResizeEdge',
        scale=img_size,
        edge='short',
        backend='pillow',
        interpolation='bicubic',
    ),
    dict(type='mmpretrain.CenterCrop', crop_size=img_size),
    dict(type='mmpretrain.PackInputs'),
]
knn_dataset = dict(
    type='mmpretrain.CustomDataset',
    data_root='data/demo',
    with_label=True,
    pipeline=knn_pipeline,
)
# Reconstructions of the held-out images while training:
# {work_dir}/reconstructions/iter_{N}.png and final.png.
# And the kNN accuracy, logged as knn/top1 (text log, scalars.json).
custom_hooks = [
    dict(
        type='ReconstructionVisHook',
        interval=max_iters // 4,
        img_paths='data/demo/val',
    ),
    dict(
        type='OnlineKNNHook',
        bank_dataloader=dict(
            batch_size=64,
            num_workers=0,
            dataset=dict(knn_dataset, data_prefix='train'),
        ),
        query_dataloader=dict(
            batch_size=64,
            num_workers=0,
            dataset=dict(knn_dataset, data_prefix='val'),
        ),
        interval=max_iters // 4,
        # Four classes: top-5 would always be 100.
        metric=dict(k=20, temperature=0.07, topk=(1,)),
    ),
]

log_processor = dict(by_epoch=False, window_size=10)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
