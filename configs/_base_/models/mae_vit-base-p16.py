# MAE with a ViT-B/16 encoder and the official 8 x 512 decoder.
model = dict(
    type='MAE',
    # ImageNet mean/std on RGB; images are loaded as BGR.
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='MAEViT',
        arch='b',
        img_size=224,
        patch_size=16,
        mask_generator=dict(type='RandomMaskGenerator', mask_ratio=0.75),
    ),
    neck=dict(
        type='MAEDecoder',
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
