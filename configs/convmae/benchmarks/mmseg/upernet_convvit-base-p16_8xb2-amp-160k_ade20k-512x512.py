# UperNet on a ConvMAE-B encoder (ConvViT E1-E4), ADE20K at 512 x 512,
# 160k iterations: the official recipe of Alpha-VL/ConvMAE SEG/
# (upernet_convmae_base_512_slide_160k_ade20k.py, 51.7 mIoU) in mmseg 1.x:
# E1-E4 (256/384/768/768 channels at strides 4/8/16/32) go to UperNet
# directly; global attention in every stage-3 block with a relative
# position bias, drop path 0.2; total batch 16 (8 GPUs x 2); AdamW lr
# 1e-4, betas (0.9, 0.999), wd 0.05 (none on 1-D parameters, pos_embed and
# the bias table), layer-wise lr decay 0.75 (embeddings and stages 1-2
# layer 0, stage-3 block i layer i + 1); linear warm-up over 1500
# iterations, then linear decay to 0; AMP; sliding-window test. Differences
# from the official backbone: E4 is a 2x2 max-pool of E3 (officially an
# unpadded stride-2 conv + BN + GELU, 32 -> 15 at 512), one shared bias
# table instead of one per block, and no layer scale. Set
# model.backbone.init_cfg.checkpoint to pre-trained weights (an mmmim
# ConvMAE run or tools/model_converters/convmae_to_mmmim.py output).
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
        type='mmmim.ConvViT',
        arch='b',
        img_size=512,
        out_indices=(0, 1, 2, 3),
        window_size=None,
        use_rel_pos_bias=True,
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
    neck=None,
    decode_head=dict(
        in_channels=[256, 384, 768, 768], channels=768, num_classes=150
    ),
    auxiliary_head=dict(in_channels=768, num_classes=150),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(341, 341)),
)

train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
