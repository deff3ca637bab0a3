# SimMIM with a ViT-B/16 encoder (official simmim_pretrain__vit_base
# config): mask token, cls token, no absolute position embedding, one
# relative position bias shared by all blocks, layer scale 0.1, drop path
# 0.1, final norm; a 1x1-conv + PixelShuffle(16) decoder; L1 loss on the
# masked pixels divided by the 3 channels.
model = dict(
    type='SimMIM',
    # ImageNet mean/std on RGB; images are loaded as BGR.
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='SimMIMViT',
        arch='b',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        layer_scale_init_value=0.1,
        rel_pos_bias='shared',
        out_type='featmap',
        # Masks come from the data pipeline (GenerateMask); this generator
        # serves reconstruct() without a mask (visualisation, benchmarks).
        mask_generator=dict(
            type='SimMIMMaskGenerator',
            mask_ratio=0.6,
            mask_patch_size=32,
            model_patch_size=16,
        ),
    ),
    neck=dict(type='SimMIMLinearDecoder', in_channels=768, encoder_stride=16),
    head=dict(type='SimMIMReconstructionHead', patch_size=16, in_channels=3),
)
