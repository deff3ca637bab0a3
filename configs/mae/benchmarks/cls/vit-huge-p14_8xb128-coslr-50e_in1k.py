# Fine-tune an MAE ViT-H/14 on ImageNet-1k: the official recipe (86.9
# top-1), 50 epochs, blr 1e-3, layer decay 0.75, drop path 0.3.
_base_ = './vit-large-p16_8xb128-coslr-50e_in1k.py'

model = dict(
    backbone=dict(arch='h', patch_size=14, drop_path_rate=0.3),
    head=dict(in_channels=1280),
)
