# Mask R-CNN on a plain MAE ViT-L (ViTDet, Li et al. 2022), COCO: the
# ViT-B config with the ViT-L changes of detectron2's
# projects/ViTDet/configs/COCO/mask_rcnn_vitdet_l_100ep.py: 24 blocks of
# 1024 channels with global attention in blocks 5, 11, 17, 23, drop path
# 0.4, layer-wise lr decay 0.8 (num_layers 24); the rest (LSJ 1024, batch
# 64, AdamW lr 1e-4, wd 0.1, 100 epochs, steps at 163889 / 177546) is
# unchanged. The MAE paper's Table 4 reports 53.3 box / 47.2 mask AP for
# ViT-L with its own (Benchmarking-ViT) recipe. Set
# model.backbone.init_cfg.checkpoint to MAE ViT-L weights.
_base_ = './mask-rcnn_vit-base-p16_simple-fpn_16xb4-amp-lsj-100e_coco.py'

model = dict(
    backbone=dict(
        arch='l',
        out_indices=(23,),
        drop_path_rate=0.4,
        global_attn_indexes=(5, 11, 17, 23),
    ),
    neck=dict(in_channels=1024),
)
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
