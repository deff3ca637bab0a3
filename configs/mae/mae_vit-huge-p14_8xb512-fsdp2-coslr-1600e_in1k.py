# MAE ViT-H/14 pre-training, the recipe of
# mae_vit-huge-p14_8xb512-amp-coslr-1600e_in1k.py sharded with FSDP2:
# every encoder and decoder block split over the ranks, bf16 compute with
# fp32 gradient reduction (configs/_base_/fsdp2_runtime.py).
_base_ = [
    './mae_vit-huge-p14_8xb512-amp-coslr-1600e_in1k.py',
    '../_base_/fsdp2_runtime.py',
]

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
