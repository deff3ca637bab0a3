# The ViT-B/16 linear probe on globally pooled patch tokens (official
# main_linprobe.py --global_pool): mean of the patch tokens of the last
# block -> parameter-free LayerNorm (the frozen, freshly initialised
# fc_norm) -> BatchNorm without affine -> Linear.
_base_ = './vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'

model = dict(backbone=dict(out_type='avg_featmap', final_norm=False))
