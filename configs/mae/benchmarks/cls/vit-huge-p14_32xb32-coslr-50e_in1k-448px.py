# Fine-tune an MAE ViT-H/14 at 448 pixels (87.8 top-1): the ViT-H recipe at
# total batch 1024 (32 GPUs x 32). The 16 x 16 position table of the
# 224-pixel pre-training is resized (bicubic, cls row kept) to 32 x 32 when
# the checkpoint is loaded. Evaluation as official above 224 pixels:
# Resize(448, bicubic) + CenterCrop(448) (crop_pct 1.0).
_base_ = './vit-huge-p14_8xb128-coslr-50e_in1k.py'

img_size = 448

model = dict(backbone=dict(img_size=img_size))

train_dataloader = dict(
    batch_size=32,
    dataset=dict(
        pipeline={
            1: dict(scale=img_size),
        }
    ),
)
