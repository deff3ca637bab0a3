# VideoMAE ViT-L/16 on Kinetics-400: the ViT-B recipe with the large
# encoder and the official 512-d, 8-head decoder.
_base_ = './videomae_vit-base-p16_64xb32-amp-coslr-1600e_k400-16x4x1.py'

model = dict(
    backbone=dict(arch='l'),
    neck=dict(embed_dims=1024, decoder_embed_dims=512, decoder_num_heads=8),
)
