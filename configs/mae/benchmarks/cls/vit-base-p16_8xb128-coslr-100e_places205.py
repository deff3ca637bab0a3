# Transfer: fine-tune an MAE ViT-B/16 on Places205 (205 classes), the
# MAE paper's Table 6 (63.9 top-1). The paper (appendix A.3) follows the
# ImageNet fine-tuning setting (Table 9) and "adjusts the lr and
# fine-tuning epochs for each individual dataset" without publishing them,
# so this config keeps the ImageNet fine-tuning recipe of
# vit-base-p16_8xb128-coslr-100e_in1k.py.
# Data: ImageNet-style class folders (mmpretrain.CustomDataset) under
# data/places205/train and data/places205/val.
_base_ = './vit-base-p16_8xb128-coslr-100e_in1k.py'

num_classes = 205
data_root = 'data/places205/'

model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(num_classes=num_classes),
)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmpretrain.CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=_base_.train_pipeline,
    )
)
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmpretrain.CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=_base_.test_pipeline,
    )
)
test_dataloader = val_dataloader
