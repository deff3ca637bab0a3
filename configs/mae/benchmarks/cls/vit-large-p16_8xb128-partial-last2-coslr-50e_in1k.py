# Partial fine-tuning of an MAE ViT-L/16 (paper Figure 9): the last 2
# block(s), fc_norm and the head are trained, the embeddings and the first
# 22 blocks stay frozen. The ViT-L fine-tuning recipe otherwise;
# the paper picks the best of 50, 100 and 200 epochs per point (fewer tuned
# blocks need longer). Figure 9's 0 is the linear probe
# (vit-large-p16_8xb2048-linear-coslr-90e_in1k.py), 24 the full fine-tune.
_base_ = './vit-large-p16_8xb128-coslr-50e_in1k.py'

model = dict(backbone=dict(frozen_stages=22))
