# A tiny MAE job for the distributed-equivalence test: 8 images per
# iteration in total, however many processes share them.
custom_imports = dict(
    imports=[
        'tests.data.toy_components',
        'tests.data.configs.mim_ddp_components',
        'mmmim.models',
    ],
    allow_failed_imports=False,
)
default_scope = 'mmmim'
global_batch = 8
model = dict(
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64
        ),
        img_size=32,
        patch_size=8,
        mask_generator=dict(type='RandomMaskGenerator', mask_ratio=0.75),
    ),
    neck=dict(
        type='MAEDecoder',
        num_patches=16,
        patch_size=8,
        embed_dims=32,
        decoder_embed_dims=32,
        decoder_num_layers=1,
        decoder_num_heads=2,
    ),
    head=dict(type='PixelReconstructionHead', patch_size=8, norm_pix=True),
)
train_dataloader = dict(
    batch_size=global_batch,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyImageDataset', length=32),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=5)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95)))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='AtomicCheckpointHook', interval=5, by_epoch=False),
)
custom_hooks = [
    dict(type='DumpLossesHook'),
    dict(type='DumpWeightsHook'),
    dict(type='DumpMasksHook'),
]
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'),
)
randomness = dict(seed=0, diff_rank_seed=False)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
