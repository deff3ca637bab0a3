# SimMIM Swin-B (window 6, 192 pixels), the official 800-epoch recipe
# (84.0 top-1 after fine-tuning at 224): mask ratio 0.6 of 32-pixel
# squares, total batch 2048 (16 GPUs x 128), lr 1e-4 x 2048 / 512 with
# multistep decay at epoch 700, bf16 autocast (apex O1 officially).
_base_ = [
    '../_base_/models/simmim_swin-base-w6.py',
    '../_base_/datasets/imagenet_simmim_192.py',
    '../_base_/schedules/adamw_step_simmim.py',
    '../_base_/default_runtime.py',
]

# The official Swin excludes absolute_pos_embed, mask_token and the
# relative position tables (and 1-D parameters) from weight decay.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
        }
    ),
)
