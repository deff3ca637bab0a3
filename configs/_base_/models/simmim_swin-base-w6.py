# SimMIM with a Swin-B encoder, window 6 at 192 pixels (official
# simmim_pretrain__swin_base__img192_window6 config): mask token, no
# absolute position embedding, no drop path; a 1x1-conv + PixelShuffle(32)
# decoder on the last stage; L1 loss on the masked pixels divided by the 3
# channels.
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
        type='SimMIMSwin',
        arch='b',
        img_size=192,
        patch_size=4,
        window_size=6,
        drop_path_rate=0.0,
        out_indices=(3,),
        # Masks come from the data pipeline (GenerateMask); this generator
        # serves reconstruct() without a mask (visualisation, benchmarks).
        mask_generator=dict(
            type='SimMIMMaskGenerator',
            mask_ratio=0.6,
            mask_patch_size=32,
            model_patch_size=4,
        ),
    ),
    neck=dict(
        type='SimMIMLinearDecoder', in_channels=128 * 2**3, encoder_stride=32
    ),
    head=dict(type='SimMIMReconstructionHead', patch_size=4, in_channels=3),
)
