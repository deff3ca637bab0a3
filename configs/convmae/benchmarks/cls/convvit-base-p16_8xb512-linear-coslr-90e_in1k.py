# Linear probe of a ConvMAE-B encoder on ImageNet-1k: the official recipe
# (Alpha-VL/ConvMAE FINETUNE.md, 70.9 top-1): frozen encoder, mean of the
# stage-3 tokens -> the frozen, freshly initialised fc_norm (a
# parameter-free LayerNorm) -> BatchNorm without affine -> Linear; LARS,
# lr = blr 0.1 x 4096 / 256 at total batch 4096 (8 GPUs x 512), no weight
# decay, 10 warm-up epochs, 90 epochs.
# Set model.backbone.init_cfg.checkpoint to the pre-trained weights.
_base_ = [
    '../../../_base_/models/mae_vit-base-p16_linear.py',
    '../../../_base_/datasets/imagenet_bs2048_mae_linear.py',
    '../../../_base_/schedules/lars_coslr_mae_linear.py',
    '../../../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmmim.ConvViT',
        arch='b',
        img_size=224,
        out_type='avg_featmap',
        out_indices=(2,),
        window_size=None,
        use_rel_pos_bias=False,
        # The whole encoder, fc_norm included, is frozen.
        frozen_stages=3,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
)

train_dataloader = dict(batch_size=512)
val_dataloader = dict(batch_size=512)
test_dataloader = dict(batch_size=512)

optim_wrapper = dict(optimizer=dict(lr=0.1 * 4096 / 256))
auto_scale_lr = dict(base_batch_size=4096)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto',
    ),
)
