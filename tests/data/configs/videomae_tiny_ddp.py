# The tiny VideoMAE job of the distributed-equivalence test: the runtime
# and schedule of mae_tiny_ddp.py (8 clips per iteration in total) on
# synthetic 4-frame 32-pixel clips (a 2 x 4 x 4 token grid).
_base_ = './mae_tiny_ddp.py'
model = dict(
    _delete_=True,
    type='VideoMAE',
    backbone=dict(
        type='VideoMAEViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64
        ),
        img_size=32,
        num_frames=4,
        patch_size=8,
        tubelet_size=2,
        mask_generator=dict(type='TubeMaskGenerator', mask_ratio=0.75),
    ),
    neck=dict(
        type='VideoMAEDecoder',
        num_patches=32,
        patch_size=8,
        tubelet_size=2,
        embed_dims=32,
        decoder_embed_dims=16,
        decoder_num_layers=1,
        decoder_num_heads=2,
    ),
    head=dict(type='VideoReconstructionHead', patch_size=8, tubelet_size=2),
)
train_dataloader = dict(
    dataset=dict(_delete_=True, type='ToyVideoDataset', length=32)
)
