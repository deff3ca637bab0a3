# UperNet on a plain MAE ViT-B, ADE20K at 512 x 512, 160k iterations: the
# recipe of the MAE paper (48.1 mIoU) as mmseg's configs/mae runs it:
# blocks 3, 5, 7, 11 as maps rescaled x4, x2, x1, x0.5 (Feature2Pyramid),
# UperNet with 768 channels and an FCN auxiliary head; total batch 16
# (8 GPUs x 2); AdamW lr 1e-4, betas (0.9, 0.999), wd 0.05 (none on 1-D
# parameters and the position table), layer-wise lr decay 0.65; linear
# warm-up over 1500 iterations, then linear decay to 0; AMP; sliding-window
# test (stride 341). Unlike the paper's BEiT-based code, MAEViT keeps the
# absolute position table and has no relative position bias or layer
# scale. Set model.backbone.init_cfg.checkpoint to MAE pre-trained weights
# (an mmmim run or tools/model_converters/mae_to_mmmim.py output).
_base_ = [
    'mmseg::_base_/models/upernet_mae.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    '../../../_base_/schedules/adamw_layer-decay_poly_160k_upernet.py',
]

custom_imports = dict(imports=['mmmim.models'], allow_failed_imports=False)

crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='mmmim.MAEViT',
        arch='b',
        img_size=512,
        patch_size=16,
        mask_generator=None,
        out_type='featmap',
        out_indices=(3, 5, 7, 11),
        final_norm=False,
        drop_path_rate=0.1,
        pos_embed_trainable=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
    neck=dict(embed_dim=768, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(
        in_channels=[768, 768, 768, 768], channels=768, num_classes=150
    ),
    auxiliary_head=dict(in_channels=768, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)),
)

# The MAE paper's layer decay for ViT-B.
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.65))

train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
