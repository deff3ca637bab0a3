# The MAE paper's ablations (Table 1, Figs. 5 and 7) on Fashion-MNIST: the
# headline runs of mim-ablations-core_vit-mini-p4_fashion-mnist.py (masking
# ratio, mask token, SimMIM, ConvMAE) plus the reconstruction target, mask
# sampling, decoder depth and width and schedule length, sized for 2 hours
# on 2 CPU cores. Each run is a released config of configs/mae/ablations
# scaled by ./_base_/simmim-convmae_scale_fashion-mnist.py (800 epochs -> 4
# on a fixed 30k half of the training images; kNN, linear probe and 3
# fine-tuning epochs on a 10k labelled subset).
#   python tools/analysis_tools/mim_study.py \
#       configs/studies/mae-ablations_vit-mini-p4_fashion-mnist.py \
#       --work-dir work_dirs/mae-ablations_fashion-mnist
_base_ = ['./_base_/simmim-convmae_scale_fashion-mnist.py']

ABL = _base_.ABL
TAIL = _base_.TAIL

study = dict(
    name='mae-ablations_fashion-mnist',
    scales=_base_.ablation_scales,
    finetune=_base_.ablation_finetune,
    probe=_base_.ablation_probe,
    runs=_base_.core_runs
    + [
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
    ],
    # Each method against its own encoder from random initialisation.
    baselines=dict(pixels=True, random=['mae_default', 'simmim', 'convmae']),
)
