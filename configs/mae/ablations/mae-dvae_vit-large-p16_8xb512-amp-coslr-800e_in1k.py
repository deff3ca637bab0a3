# MAE ablation (paper Table 1d): target = dVAE tokens (BEiT-style), with
# cross-entropy on the masked patches.
# Inherits the ablation base (ViT-L/16, 800 epochs, the Table 1 default)
# and changes only the target: the decoder predicts 8192 token logits per
# patch and the head tokenises the input with a frozen DALL-E encoder.

# User-supplied: the DALL-E encoder weights converted for mmpretrain, e.g.
# https://download.openmmlab.com/mmselfsup/1.x/target_generator_ckpt/dalle_encoder.pth
# Edit this path, or pass
# --cfg-options model.head.tokenizer.init_cfg.checkpoint=/path/to/ckpt.
dalle_checkpoint = 'checkpoints/dalle_encoder.pth'

_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(
    neck=dict(predict_dims=8192),
    head=dict(
        _delete_=True,
        type='TokenReconstructionHead',
        patch_size=16,
        tokenizer=dict(
            type='mmpretrain.DALL-E',
            init_cfg=dict(type='Pretrained', checkpoint=dalle_checkpoint),
        ),
    ),
)
