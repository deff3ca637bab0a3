# The official MAE fine-tuning schedule (ViT-B): AdamW (0.9, 0.999), lr =
# blr 5e-4 x total batch / 256 (1024 -> 2e-3), weight decay 0.05 except on
# 1-D parameters (norms, biases) and pos_embed / cls_token, layer-wise lr
# decay 0.65 (scale = 0.65 ** (num_layers + 1 - layer_id): 0 for the
# embeddings, i + 1 for block i, the rest scale 1), 5 linear warm-up epochs
# then cosine to 1e-6, 100 epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW',
        lr=5e-4 * 1024 / 256,
        betas=(0.9, 0.999),
        weight_decay=0.05,
    ),
    # The layer ids come from the backbone's get_layer_depth (MAEViT).
    constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        flat_decay_mult=0.0,
        custom_keys={
            '.pos_embed': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
        },
    ),
)

warmup_epochs = 5
max_epochs = 100

param_scheduler = [
    # The official warm-up starts from 0; LinearLR needs a positive factor.
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True,
    ),
    dict(
        type='CosineAnnealingLR',
        eta_min=1e-6,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1
)
val_cfg = dict()
test_cfg = dict()

# `--auto-scale-lr` rescales lr from the batch size it was set for.
auto_scale_lr = dict(base_batch_size=1024)
