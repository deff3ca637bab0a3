# Sharded data parallel training with PyTorch FSDP2 (`fully_shard`) on
# mmengine's FlexibleRunner, for models too large for DDP (ViT-H, VideoMAE
# ViT-L/H). Every transformer block of the encoder and the decoder is one
# FSDP unit: its parameters, gradients and optimizer states are split over
# the ranks and gathered only while it runs. Add this file to a config's
# `_base_` list; see docs/en/large_models.md. Launch with
# `bash tools/dist_train.sh CONFIG 8` (one process per GPU).
runner_type = 'FlexibleRunner'
strategy = dict(
    type='mmmim.FSDP2Strategy',
    # bf16 computation with fp32 gradient reduction; the optimizer keeps
    # fp32 master weights (the sharded parameters).
    mp_policy=dict(param_dtype='bfloat16', reduce_dtype='float32'),
    # The batch reaches the model in fp32, so targets and losses computed
    # from it (MAE's normalised pixels) stay fp32 as in the official AMP
    # recipes; the layers outside the blocks then need autocast: use
    # optim_wrapper.type='mmmim.AutocastOptimWrapper' (checked at start).
    cast_root_inputs=False,
    # Recompute each block in backward instead of storing its activations.
    activation_checkpointing=False,
    # Free each block's gathered parameters after its forward (ZeRO-3);
    # False keeps them until backward (ZeRO-2: one all-gather less).
    reshard_after_forward=True,
    # 'sharded': one folder per checkpoint, written by all ranks, resumable
    # on any number of ranks; 'full': one file gathered on rank 0, as the
    # plain Runner writes it (tools/model_converters/sharded_to_full.py
    # turns a folder into such a file).
    checkpoint_format='sharded',
)
