# Transfer: fine-tune an MAE ViT-H/14 on iNaturalist 2017 (5089 classes), the
# MAE paper's Table 6 (79.3 top-1). The paper (appendix A.3) follows the
# ImageNet fine-tuning setting (Table 9) and "adjusts the lr and
# fine-tuning epochs for each individual dataset" without publishing them,
# so this config keeps the ImageNet fine-tuning recipe of
# vit-huge-p14_8xb128-coslr-50e_in1k.py.
# Data: ImageNet-style class folders (mmpretrain.CustomDataset) under
# data/inat2017/train and data/inat2017/val.
_base_ = './vit-huge-p14_8xb128-coslr-50e_in1k.py'

num_classes = 5089
data_root = 'data/inat2017/'

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
