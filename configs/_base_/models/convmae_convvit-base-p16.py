# ConvMAE-B: ConvViT encoder (256/384/768 channels, 2/2/11 blocks, strides
# 4/2/2) with the official 8 x 512 decoder and norm-pix MAE loss.
model = dict(
    type='ConvMAE',
    # ImageNet mean/std on RGB; images are loaded as BGR.
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='ConvMAEViT',
        arch='b',
        img_size=224,
        patch_sizes=(4, 2, 2),
        # Masks are drawn on the 14 x 14 stage-3 grid (16-pixel patches)
        # and upsampled to the 56 x 56 and 28 x 28 conv stages.
        mask_generator=dict(type='RandomMaskGenerator', mask_ratio=0.75),
        channels_last=True,
    ),
    neck=dict(
        type='ConvMAEDecoder',
        num_patches=196,
        patch_size=16,
        in_channels=3,
        embed_dims=768,
        decoder_embed_dims=512,
        decoder_num_layers=8,
        decoder_num_heads=16,
        mlp_ratio=4.0,
    ),
    head=dict(type='PixelReconstructionHead', patch_size=16, norm_pix=True),
)
