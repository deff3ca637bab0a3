# The MAE paper's ablations (Table 1, Figs. 5 and 7) on Fashion-MNIST: each
# run is a released config of configs/mae/ablations scaled down by the
# shared scale (../_base_/mae_scale_fashion-mnist.py), 800 epochs -> 4,
# read out by kNN, a linear probe and 3 epochs of fine-tuning on a fixed
# 10k subset of the labelled training images (short, to fit 2 CPU cores:
# the trends, not the best numbers). The default
# row (`mae_default`: 75% random masking, pixel target, no mask token in
# the encoder, decoder 2 x 64) sits in every figure. SimMIM (the released
# ViT-B recipe) and ConvMAE (ConvMAE-B) at the same scale run for the same
# 4 epochs.
#   python tools/analysis_tools/mim_study.py \
#       configs/studies/mae-ablations_vit-mini-p4_fashion-mnist.py
_base_ = ['./_base_/simmim-convmae_scale_fashion-mnist.py']

ABL = 'configs/mae/ablations/'
TAIL = '_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'
BASE = ABL + '_base_/mae_ablation_vit-large-p16_800e.py'
# The schedule-length ablation keeps the ratio of the released lengths
# (100 and 200 epochs would leave no room after the 1-epoch warm-up).
epochs = {400: 2, 800: 4, 1600: 8}
finetune = dict(
    _base_.finetune,
    epochs=3,
    options=dict(
        _base_.finetune.options,
        **{'train_dataloader.dataset.subset_size': 10000},
    ),
)

study = dict(
    name='mae-ablations_fashion-mnist',
    scales=dict(
        mae=dict(
            _base_.mae_scale,
            value_maps=dict(
                _base_.mae_scale.value_maps,
                **{'train_cfg.max_epochs': epochs},
            ),
        ),
        simmim=dict(
            _base_.simmim_scale,
            value_maps={
                'train_cfg.max_epochs': epochs,
                'param_scheduler.1.milestones.0': {700: 3},
            },
        ),
        # ConvMAE's released 1600 epochs -> the same 4 as the others.
        convmae=dict(
            _base_.convmae_scale,
            value_maps=dict(
                _base_.convmae_scale.value_maps,
                **{'train_cfg.max_epochs': {1600: 4}},
            ),
        ),
    ),
    finetune=finetune,
    probe=_base_.pooled_probe,
    runs=[
        dict(
            name='mae_default',
            config=BASE,
            scale='mae',
            groups=dict(
                mask_ratio=75,
                mask_token='off',
                target='pixel',
                mask_sampling='random 75',
                decoder_depth=2,
                decoder_width=64,
                schedule=4,
                method='MAE',
            ),
        ),
        # No released config masks 25%: the default with that ratio.
        dict(
            name='ratio25',
            config=BASE,
            scale='mae',
            options={'model.backbone.mask_generator.mask_ratio': 0.25},
            groups=dict(mask_ratio=25),
        ),
        dict(
            name='ratio50',
            config=ABL + 'mae-ratio50' + TAIL,
            scale='mae',
            groups=dict(mask_ratio=50),
        ),
        dict(
            name='ratio90',
            config=ABL + 'mae-ratio90' + TAIL,
            scale='mae',
            groups=dict(mask_ratio=90),
        ),
        dict(
            name='enc_mask_token',
            config=ABL + 'mae-enc-mask-token' + TAIL,
            scale='mae',
            groups=dict(mask_token='on'),
        ),
        dict(
            name='norm_pix',
            config=ABL + 'mae-norm-pix' + TAIL,
            scale='mae',
            groups=dict(target='norm. pixel', method='MAE norm. pixel'),
        ),
        dict(
            name='block50',
            config=ABL + 'mae-block50' + TAIL,
            scale='mae',
            groups=dict(mask_sampling='block 50'),
        ),
        dict(
            name='block75',
            config=ABL + 'mae-block75' + TAIL,
            scale='mae',
            groups=dict(mask_sampling='block 75'),
        ),
        dict(
            name='grid75',
            config=ABL + 'mae-grid75' + TAIL,
            scale='mae',
            groups=dict(mask_sampling='grid 75'),
        ),
        dict(
            name='dec_depth1',
            config=ABL + 'mae-dec-depth1' + TAIL,
            scale='mae',
            groups=dict(decoder_depth=1),
        ),
        dict(
            name='dec_depth12',
            config=ABL + 'mae-dec-depth12' + TAIL,
            scale='mae',
            groups=dict(decoder_depth=3),
        ),
        dict(
            name='dec_width256',
            config=ABL + 'mae-dec-width256' + TAIL,
            scale='mae',
            groups=dict(decoder_width=32),
        ),
        dict(
            name='dec_width1024',
            config=ABL + 'mae-dec-width1024' + TAIL,
            scale='mae',
            groups=dict(decoder_width=128),
        ),
        dict(
            name='pixel_400e',
            config=ABL
            + 'mae-pixel_vit-large-p16_8xb512-amp-coslr-400e_in1k.py',
            scale='mae',
            groups=dict(schedule=2),
        ),
        dict(
            name='pixel_1600e',
            config=ABL
            + 'mae-pixel_vit-large-p16_8xb512-amp-coslr-1600e_in1k.py',
            scale='mae',
            groups=dict(schedule=8),
        ),
        dict(
            name='simmim',
            config='configs/simmim/'
            'simmim_vit-base-p16_16xb128-amp-step-800e_in1k.py',
            scale='simmim',
            finetune=dict(
                _base_.simmim_finetune,
                epochs=3,
                options=dict(
                    _base_.simmim_finetune.options,
                    **{'train_dataloader.dataset.subset_size': 10000},
                ),
            ),
            groups=dict(method='SimMIM'),
        ),
        dict(
            name='convmae',
            config='configs/convmae/'
            'convmae_convvit-base-p16_8xb128-amp-coslr-1600e_in1k.py',
            scale='convmae',
            finetune=dict(
                _base_.convmae_finetune,
                epochs=3,
                options=dict(
                    _base_.convmae_finetune.options,
                    **{'train_dataloader.dataset.subset_size': 10000},
                ),
            ),
            probe=_base_.convmae_probe,
            groups=dict(method='ConvMAE'),
        ),
    ],
    baselines=dict(pixels=True, random='mae_default'),
)
