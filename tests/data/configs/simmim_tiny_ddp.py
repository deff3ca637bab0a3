# The tiny SimMIM job of the distributed-equivalence test: the runtime,
# data and schedule of mae_tiny_ddp.py (8 images per iteration in total).
# The backbone's generator draws the masks (no GenerateMask in the data).
_base_ = './mae_tiny_ddp.py'
model = dict(
    _delete_=True,
    type='SimMIM',
    backbone=dict(
        type='SimMIMViT',
        arch=dict(
            embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64
        ),
        img_size=32,
        patch_size=8,
        mask_generator=dict(
            type='SimMIMMaskGenerator',
            mask_ratio=0.6,
            mask_patch_size=16,
            model_patch_size=8,
        ),
    ),
    neck=dict(type='SimMIMLinearDecoder', in_channels=32, encoder_stride=8),
    head=dict(type='SimMIMReconstructionHead', patch_size=8),
)
