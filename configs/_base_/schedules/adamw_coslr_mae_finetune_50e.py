# The official MAE fine-tuning schedule of ViT-L and ViT-H: the ViT-B one
# with blr 1e-3 (lr 4e-3 at total batch 1024), layer decay 0.75, 5 warm-up
# epochs, cosine to 1e-6 over 50.
_base_ = './adamw_coslr_mae_finetune.py'

optim_wrapper = dict(
    optimizer=dict(lr=1e-3 * 1024 / 256),
    paramwise_cfg=dict(layer_decay_rate=0.75),
)

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=True,
        begin=5,
        end=50,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(max_epochs=50)
