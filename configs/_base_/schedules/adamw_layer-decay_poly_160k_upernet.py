# The MAE/BEiT-style UperNet schedule on ADE20K (mmseg 1.x): AdamW lr 1e-4,
# betas (0.9, 0.999), weight decay 0.05 (none on 1-D parameters, position
# tables, the cls token and relative position bias tables), layer-wise lr
# decay (0.75 here; the MAE config sets 0.65) with the layer ids of the
# backbone's get_layer_depth, AMP with dynamic loss scaling; 1500 linear
# warm-up iterations, then linear decay to 0 over 160k; total batch 16
# (8 GPUs x 2, set with the dataset in the configs).
_base_ = ['mmseg::_base_/schedules/schedule_160k.py']

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    constructor='mmmim.LayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05
    ),
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        flat_decay_mult=0.0,
        custom_keys={
            'pos_embed': dict(decay_mult=0.0),
            'cls_token': dict(decay_mult=0.0),
            'relative_position_bias_table': dict(decay_mult=0.0),
        },
    ),
)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500
    ),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        by_epoch=False,
        begin=1500,
        end=160000,
    ),
]

auto_scale_lr = dict(enable=False, base_batch_size=16)
