# VideoMAE ViT-L/16 on Kinetics-400: the recipe of
# videomae_vit-large-p16_64xb8-amp-coslr-1600e_k400-16x4x1.py sharded with
# FSDP2 (configs/_base_/fsdp2_runtime.py) and with activation
# checkpointing of every encoder and decoder block: 16-frame clips keep
# 160 visible tokens per clip in the encoder and all 1568 in the 12-block
# decoder, whose activations dominate the memory.
_base_ = [
    './videomae_vit-large-p16_64xb8-amp-coslr-1600e_k400-16x4x1.py',
    '../_base_/fsdp2_runtime.py',
]

strategy = dict(activation_checkpointing=True)
# bf16 weights in the blocks come from the strategy; autocast covers the
# layers outside them while the batch, the targets and the loss stay fp32
# (strategy.cast_root_inputs=False), as in the official AMP recipe. Same
# optimizer and parameter-wise settings; no loss scaling (bf16).
optim_wrapper = dict(
    _delete_=True,
    type='mmmim.AutocastOptimWrapper',
    dtype='bfloat16',
    optimizer=_base_.optim_wrapper.optimizer,
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg,
)
