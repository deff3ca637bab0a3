# VideoMAE ablation (paper Fig. 3, the 90-95 % range): ViT-B/16 on
# Kinetics-400 for 800 epochs with a 95 % tube mask instead of 90 %; the
# rest is the official 800-epoch recipe. The mask is drawn in the data
# workers (GenerateMask) and by the model's fallback generator: both
# change.
_base_ = './videomae_vit-base-p16_64xb32-amp-coslr-800e_k400-16x4x1.py'

mask_ratio = 0.95
model = dict(backbone=dict(mask_generator=dict(mask_ratio=mask_ratio)))
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(
                step,
                mask_generator=dict(
                    step['mask_generator'], mask_ratio=mask_ratio
                ),
            )
            if step['type'] == 'GenerateMask'
            else step
            for step in _base_.train_pipeline
        ]
    )
)
