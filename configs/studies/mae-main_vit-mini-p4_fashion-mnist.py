# The main Fashion-MNIST result: MAE with the released recipe
# (normalised-pixel target, 75% random masking) pre-trained for 20 epochs,
# then kNN, linear probe and 5 epochs of fine-tuning, next to raw pixels,
# the same encoder from random initialisation and the same encoder trained
# supervised from scratch for 25 epochs (pre-training + fine-tuning).
#   python tools/analysis_tools/mim_study.py \
#       configs/studies/mae-main_vit-mini-p4_fashion-mnist.py
_base_ = ['./_base_/mae_scale_fashion-mnist.py']

ABLATIONS = 'configs/mae/ablations/'
pretrain_epochs = 20

study = dict(
    name='mae-main_fashion-mnist',
    scales=dict(
        mae=dict(
            _base_.mae_scale,
            value_maps=dict(
                _base_.mae_scale.value_maps,
                **{'train_cfg.max_epochs': {800: pretrain_epochs}},
            ),
        )
    ),
    finetune=dict(_base_.finetune, epochs=5),
    probe=_base_.probe,
    runs=[
        dict(
            name='mae',
            config=ABLATIONS
            + 'mae-norm-pix_vit-large-p16_8xb512-amp-coslr-800e_in1k.py',
            scale='mae',
        )
    ],
    baselines=dict(pixels=True, random='mae', supervised='mae'),
)
