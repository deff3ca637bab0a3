# The tiny ConvMAE job of the distributed-equivalence test: the runtime,
# data and schedule of mae_tiny_ddp.py (8 images per iteration in total),
# on 64-pixel images (a 4 x 4 grid of 16-pixel tokens).
_base_ = './mae_tiny_ddp.py'
model = dict(
    _delete_=True,
    type='ConvMAE',
    backbone=dict(
        type='ConvMAEViT',
        arch=dict(embed_dims=(16, 24, 32), num_layers=(1, 1, 2), num_heads=2),
        img_size=64,
        mask_generator=dict(type='RandomMaskGenerator', mask_ratio=0.75),
    ),
    neck=dict(
        type='ConvMAEDecoder',
        num_patches=16,
        patch_size=16,
        embed_dims=32,
        decoder_embed_dims=32,
        decoder_num_layers=1,
        decoder_num_heads=2,
    ),
    head=dict(type='PixelReconstructionHead', patch_size=16, norm_pix=True),
)
train_dataloader = dict(dataset=dict(img_size=64))
