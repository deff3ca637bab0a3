# Linear probe of a SimMIM ViT-B/16 (800-epoch pre-training) on
# ImageNet-1k: the SimMIM paper's linear-probing number, 56.7 top-1. The
# paper probes the 8th block with average pooling (microsoft/SimMIM#14)
# and publishes no linear-probe code or recipe, so the protocol around the
# feature is MAE's (main_linprobe.py: BatchNorm without affine -> Linear,
# LARS lr 0.1 x 16384 / 256, 90 epochs, 10 warm-up). The features: mean of
# the patch tokens after block 8 (out_indices 7), no final norm; the
# backbone is frozen. Set model.backbone.init_cfg.checkpoint to SimMIM
# pre-trained weights.
_base_ = [
    '../../../_base_/models/mae_vit-base-p16_linear.py',
    '../../../_base_/datasets/imagenet_bs2048_mae_linear.py',
    '../../../_base_/schedules/lars_coslr_mae_linear.py',
    '../../../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmmim.SimMIMViT',
        arch='b',
        img_size=224,
        patch_size=16,
        use_mask_token=False,
        layer_scale_init_value=0.1,
        rel_pos_bias='per_layer',
        out_indices=(7,),
        frozen_stages=12,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
)
