# The official VideoMAE fine-tuning schedule (run_class_finetuning.py):
# AdamW (0.9, 0.999), lr = 5e-4 x total batch / 256 (6 x 64 GPUs = 384 ->
# 7.5e-4; the repeated-augmentation copies are not counted), weight decay
# 0.05 except on 1-D parameters, layer-wise lr decay 0.75 (scale =
# 0.75 ** (num_layers + 1 - layer_id): 0 for the cube embedding, i + 1 for
# block i, scale 1 for fc_norm and the head), 5 warm-up epochs, cosine to
# 1e-6.
total_batch = 384
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW',
        lr=5e-4 * total_batch / 256,
        betas=(0.9, 0.999),
        weight_decay=0.05,
    ),
    # The layer ids come from VideoMAEViT.get_layer_depth.
    constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.75, flat_decay_mult=0.0),
)

warmup_epochs = 5
max_epochs = 75

param_scheduler = [
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
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5
)
val_cfg = dict()
test_cfg = dict()

# `--auto-scale-lr` rescales lr from the batch size it was set for; with
# fewer GPUs, gradient accumulation (optim_wrapper.accumulative_counts)
# keeps the official total batch instead.
auto_scale_lr = dict(base_batch_size=total_batch)
