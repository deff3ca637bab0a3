# SimMIM ViT-B/16, the official 800-epoch recipe (83.8 top-1 after
# fine-tuning): 224 pixels, mask ratio 0.6 of 32-pixel squares, total
# batch 2048 (16 GPUs x 128), lr 1e-4 x 2048 / 512 with multistep decay at
# epoch 700, bf16 autocast (the official code uses apex O1).
_base_ = [
    '../_base_/models/simmim_vit-base-p16.py',
    '../_base_/datasets/imagenet_simmim_224.py',
    '../_base_/schedules/adamw_step_simmim.py',
    '../_base_/default_runtime.py',
]

# The official ViT excludes pos_embed and cls_token (and 1-D parameters)
# from weight decay; the mask token and the relative position table are
# decayed.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    paramwise_cfg=dict(
        custom_keys={
            'cls_token': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.0),
        }
    ),
)
