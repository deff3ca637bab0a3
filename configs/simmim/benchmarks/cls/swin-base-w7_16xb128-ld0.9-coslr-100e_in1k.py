# Fine-tune a SimMIM Swin-B from the 100-epoch pre-training at 224 with
# window 7: the official recipe with layer decay 0.9 (83.5 top-1).
_base_ = './swin-base-w7_16xb128-coslr-100e_in1k.py'

optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.9))
