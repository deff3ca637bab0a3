# UperNet on a plain MAE ViT-L, ADE20K at 512 x 512, 160k iterations: the
# ViT-B config with a 24-block, 1024-channel encoder (the MAE paper's
# Table 5: 53.6 mIoU). Features from blocks 7, 11, 15, 23 (mmseg's BEiT-L
# UperNet), drop path 0.2 and layer-wise lr decay 0.75 (the ViT-L
# ImageNet fine-tuning values): the paper searched lr per entry and did not
# publish the ViT-L values, so these are mmmim's choices. Set
# model.backbone.init_cfg.checkpoint to MAE ViT-L weights.
_base_ = './upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py'

model = dict(
    backbone=dict(arch='l', out_indices=(7, 11, 15, 23), drop_path_rate=0.2),
    neck=dict(embed_dim=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=1024),
    auxiliary_head=dict(in_channels=1024),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))
