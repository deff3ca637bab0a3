# The 50-epoch schedule of the ConvMAE-B Mask R-CNN (official
# convmae_base_mask_rcnn_FPN_50ep.py: half the iterations, the same
# 461-iteration warm-up).
_base_ = './mask-rcnn_convvit-base-p16_fpn_8xb4-amp-lsj-coslr-100e_coco.py'

max_iters = 184375
param_scheduler = [
    _base_.param_scheduler[0],
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        T_max=max_iters,
        eta_min=0.0,
    ),
]
train_cfg = dict(max_iters=max_iters)
