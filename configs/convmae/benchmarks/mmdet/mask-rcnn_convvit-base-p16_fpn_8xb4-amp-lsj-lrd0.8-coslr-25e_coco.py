# The 25-epoch ConvMAE-B Mask R-CNN with ViTDet-style layer-wise lr decay
# 0.8 (OpenGVLab/Official-ConvMAE-Det reports 53.9 box / 47.6 mask AP with
# it, there with a simple feature pyramid): the embeddings, pos_embed and
# stages 1-2 are layer 0, stage-3 block i is layer i + 1, the neck and the
# heads keep the full lr. Everything else as the official 25-epoch recipe.
_base_ = './mask-rcnn_convvit-base-p16_fpn_8xb4-amp-lsj-coslr-25e_coco.py'

optim_wrapper = dict(
    constructor='mmmim.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.8),
)
