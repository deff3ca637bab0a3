# VideoMAE with a ViT-B/16 encoder (cube 2 x 16 x 16, 16 x 224 x 224 clips:
# 8 x 14 x 14 = 1568 tokens), tube masking at 90% and the official
# 4-layer 384-d decoder (the scripts override the class default of 8).
model = dict(
    type='VideoMAE',
    # ImageNet mean/std; PyAV decodes RGB.
    data_preprocessor=dict(
        type='VideoDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
    ),
    backbone=dict(
        type='VideoMAEViT',
        arch='b',
        img_size=224,
        num_frames=16,
        patch_size=16,
        tubelet_size=2,
        # The pipeline draws the tube mask (GenerateMask); this generator
        # is the fallback when a batch comes without one.
        mask_generator=dict(type='TubeMaskGenerator', mask_ratio=0.9),
    ),
    neck=dict(
        type='VideoMAEDecoder',
        num_patches=8 * 14 * 14,
        patch_size=16,
        tubelet_size=2,
        embed_dims=768,
        decoder_embed_dims=384,
        decoder_num_layers=4,
        decoder_num_heads=6,
    ),
    # Targets: [0, 1] pixels normalised per cube and channel
    # (`normlize_target=True` in the official scripts).
    head=dict(
        type='VideoReconstructionHead',
        patch_size=16,
        tubelet_size=2,
        norm_target=True,
    ),
)
