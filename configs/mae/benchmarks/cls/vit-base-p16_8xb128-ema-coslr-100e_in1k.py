# The ViT-B/16 fine-tuning recipe with an exponential moving average of the
# weights (optional; the official MAE recipe has none). Validation and the
# saved checkpoints use the averaged weights.
_base_ = './vit-base-p16_8xb128-coslr-100e_in1k.py'

custom_hooks = [
    dict(
        type='EMAHook',
        ema_type='ExponentialMovingAverage',
        momentum=1e-4,
        update_buffers=True,
        priority='ABOVE_NORMAL',
    )
]
