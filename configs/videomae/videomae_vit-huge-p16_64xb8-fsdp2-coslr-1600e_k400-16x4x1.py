# VideoMAE ViT-H/16 on Kinetics-400, sharded with FSDP2 and activation
# checkpointing. No official ViT-H pre-training script is cited here: this
# is the ViT-L recipe (videomae_vit-large-p16_64xb8-amp-coslr-1600e_k400-
# 16x4x1.py: 512 clips per step, decoder of 12 blocks) with the huge
# encoder; the official pretrain_videomae_huge_patch16_224 model has the
# same 512-d, 8-head decoder as the large one. (Not derived from the
# sharded ViT-L config: configs inherit at most three levels deep.)
_base_ = [
    './videomae_vit-large-p16_64xb8-amp-coslr-1600e_k400-16x4x1.py',
    '../_base_/fsdp2_runtime.py',
]

model = dict(backbone=dict(arch='h'), neck=dict(embed_dims=1280))
strategy = dict(activation_checkpointing=True)
# bf16 weights in the blocks come from the strategy; autocast covers the
# layers outside them while the batch and the loss stay fp32.
optim_wrapper = dict(
    _delete_=True,
    type='mmmim.AutocastOptimWrapper',
    dtype='bfloat16',
    optimizer=_base_.optim_wrapper.optimizer,
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg,
)
