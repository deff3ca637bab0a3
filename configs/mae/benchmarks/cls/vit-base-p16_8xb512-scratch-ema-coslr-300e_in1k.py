# Supervised ViT-B/16 trained from scratch on ImageNet-1k, the MAE paper's
# baseline recipe (appendix A.2, Table 11; 82.3 top-1 in Table 3 / Fig. 8,
# "our impl."): AdamW lr = blr 1e-4 x 4096 / 256, betas (0.9, 0.95),
# weight decay 0.3, total batch 4096 (8 GPUs x 512), 20 warm-up epochs then
# cosine, 300 epochs, RandAugment (9, 0.5), label smoothing 0.1, Mixup 0.8,
# CutMix 1.0, drop path 0.1, EMA 0.9999; no layer decay and no
# pre-trained weights. The official repository has no script for it.
# RandomErasing 0.25 is kept from the fine-tuning pipeline (Table 11 does
# not list it; the fine-tuning recipe the appendix starts from has it).
_base_ = './vit-base-p16_8xb128-coslr-100e_in1k.py'

max_epochs = 300
warmup_epochs = 20

model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(batch_size=512)
optim_wrapper = dict(
    optimizer=dict(lr=1e-4 * 4096 / 256, betas=(0.9, 0.95), weight_decay=0.3),
    paramwise_cfg=dict(layer_decay_rate=1.0),
)
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(_base_.param_scheduler[1], begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=1e-4,
        update_buffers=True,
        priority='ABOVE_NORMAL',
    )
]
auto_scale_lr = dict(base_batch_size=4096)
