# How the released SimMIM ViT-B/16 recipe becomes a Fashion-MNIST study
# run: the encoder, data, batch and epochs of the MAE scale (so the two
# methods compare at equal size and budget), the lr scaled as MAE's is;
# SimMIM's own recipe (mask token in the encoder, 60% masking, linear
# decoder, L1 on the masked pixels, layer scale, shared relative position
# bias, AdamW betas 0.999, gradient clipping, step decay, 67-100% crops)
# from the released file.
_base_ = ['./mae_scale_fashion-mnist.py']

simmim_lr = 5e-4
simmim_scale = dict(
    # A study adds 'train_cfg.max_epochs' and the step decay's epoch
    # ('param_scheduler.1.milestones.0', released 700 of 800) to value_maps.
    value_maps={},
    merge={
        'model.backbone.mask_generator': dict(
            mask_patch_size=_base_.patch_size,
            model_patch_size=_base_.patch_size,
        )
    },
    replace=dict(
        _base_.common_replace,
        **{
            'model.backbone.arch': _base_.mae_scale.replace[
                'model.backbone.arch'
            ],
            'model.backbone.img_size': _base_.img_size,
            'model.backbone.patch_size': _base_.patch_size,
            'model.neck.in_channels': _base_.embed_dims,
            'model.neck.encoder_stride': _base_.patch_size,
            'model.head.patch_size': _base_.patch_size,
            # The MAE scale's step is 20x MAE's released rate per image
            # (1.5e-4 per 256); SimMIM's released rate is 3x lower (1e-4
            # per 512), and the same 20x keeps that ratio.
            'optim_wrapper.optimizer.lr': simmim_lr,
        },
    ),
    delete=['optim_wrapper.dtype'],
    dataset=_base_.mae_scale.dataset,
    drop_transforms=_base_.mae_scale.drop_transforms,
    img_size=_base_.mae_scale.img_size,
    # SimMIM masks 32-pixel squares of 16-pixel tokens; 28 is not a
    # multiple of 2 x 4, so the squares are one 4-pixel token here.
    pipeline_merge=dict(
        GenerateMask=dict(
            patch_size=_base_.patch_size,
            mask_generator=dict(
                mask_patch_size=_base_.patch_size,
                model_patch_size=_base_.patch_size,
            ),
        )
    ),
    warmup_epochs=1,
)

# Fine-tuning: the MAE study's recipe with SimMIM's fine-tuning encoder
# (its shared relative position bias copied into every block, as the
# released SimMIM fine-tuning config does).
simmim_finetune = dict(
    _base_.finetune,
    options=dict(
        _base_.finetune.options,
        **{
            'model.backbone': dict(
                _delete_=True,
                type='mmmim.SimMIMViT',
                arch=_base_.mae_scale.replace['model.backbone.arch'],
                img_size=_base_.img_size,
                patch_size=_base_.patch_size,
                use_mask_token=False,
                drop_path_rate=0.1,
                layer_scale_init_value=0.1,
                rel_pos_bias='per_layer',
                out_type='avg_featmap',
                final_norm=False,
                init_cfg=dict(
                    type='Pretrained', checkpoint='', prefix='backbone.'
                ),
            )
        },
    ),
)

# ConvMAE-B (stages at 1/4, 1/8, 1/16 of 224 px: patch sizes 4, 2, 2) ->
# the convolution stages at 1/2 and 1/4 of 28 px and the transformer stage
# on the same 7 x 7 grid as the ViT runs (patch sizes 2, 2, 1). Keeping
# every halving (patch sizes 1, 2, 2) puts stage 1 on all 28 x 28 pixels:
# about 4x the convolution cost, 90 images/s per core against MAE's 410,
# which no 2-hour CPU study affords. The masked convolutions, the
# multi-scale fusion and the 1/3 : 1/2 : 1 widths (at the study's 128-d
# width) are ConvMAE-B's. The decoder scales as MAE's does.
convmae_patch_sizes = (2, 2, 1)
convmae_scale = dict(
    value_maps=dict(_base_.mae_scale.value_maps),
    replace=dict(
        _base_.mae_scale.replace,
        **{
            'model.backbone.arch': dict(
                embed_dims=(48, 64, _base_.embed_dims),
                num_layers=(1, 1, 4),
                num_heads=4,
                mlp_ratio=4.0,
            ),
            'model.backbone.patch_sizes': convmae_patch_sizes,
            # channels_last is a GPU memory-layout setting.
            'model.backbone.channels_last': False,
        },
    ),
    # The ViT's patch_size (set by the MAE scale) is patch_sizes here.
    delete=['optim_wrapper.dtype', 'model.backbone.patch_size'],
    dataset=_base_.mae_scale.dataset,
    drop_transforms=_base_.mae_scale.drop_transforms,
    img_size=_base_.mae_scale.img_size,
    pipeline_merge=_base_.mae_scale.pipeline_merge,
    warmup_epochs=1,
)

# Fine-tuning ConvMAE's encoder: the MAE study's recipe with the ConvViT
# of the released ConvMAE fine-tuning config (its stage-3 tokens pooled).
convmae_finetune = dict(
    _base_.finetune,
    options=dict(
        _base_.finetune.options,
        **{
            'model.backbone': dict(
                _delete_=True,
                type='mmmim.ConvViT',
                arch=convmae_scale['replace']['model.backbone.arch'],
                img_size=_base_.img_size,
                patch_sizes=convmae_patch_sizes,
                out_type='avg_featmap',
                out_indices=(2,),
                window_size=None,
                use_rel_pos_bias=False,
                drop_path_rate=0.1,
                pos_embed_trainable=True,
                init_cfg=dict(
                    type='Pretrained', checkpoint='', prefix='backbone.'
                ),
            )
        },
    ),
)
# ConvMAE's encoder has no class token.
convmae_probe = dict(
    _base_.pooled_probe,
    features=[
        dict(name='pooled', pool='avg', out_indices=[-1]),
    ],
)

# --- Shared by the ablation studies (mim-ablations-core_*, mae-ablations_*)
# Released configs scaled by the shapes above: 800 epochs -> 4 on a fixed
# half of the training images (30k; the schedule ablation keeps the ratio
# of the released lengths; 100 and 200 epochs would leave no room after
# the 1-epoch warm-up), read out by kNN, a linear probe (pooled
# candidates, L2 1e-4..1e-2) and 3 epochs of fine-tuning on a fixed 10k
# subset of the labelled training images: the trends, not the best
# numbers. Half the images halve the pre-training, which is what fits all
# 17 runs into 2 hours on 2 CPU cores (all 60k: about 2.6 hours).
ABL = 'configs/mae/ablations/'
TAIL = '_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'
ablation_epochs = {400: 2, 800: 4, 1600: 8}
ablation_pretrain_images = 30000
ablation_dataset = dict(
    _base_.mae_scale.dataset, subset_size=ablation_pretrain_images
)
ablation_scales = dict(
    mae=dict(
        _base_.mae_scale,
        dataset=ablation_dataset,
        value_maps=dict(
            _base_.mae_scale.value_maps,
            **{'train_cfg.max_epochs': ablation_epochs},
        ),
    ),
    simmim=dict(
        simmim_scale,
        dataset=ablation_dataset,
        value_maps={
            'train_cfg.max_epochs': ablation_epochs,
            'param_scheduler.1.milestones.0': {700: 3},
        },
    ),
    # ConvMAE's released 1600 epochs -> the same 4 as the others.
    convmae=dict(
        convmae_scale,
        dataset=ablation_dataset,
        value_maps=dict(
            convmae_scale['value_maps'],
            **{'train_cfg.max_epochs': {1600: 4}},
        ),
    ),
)
ablation_subset = {'train_dataloader.dataset.subset_size': 10000}
ablation_finetune = dict(
    _base_.finetune,
    epochs=3,
    options=dict(_base_.finetune.options, **ablation_subset),
)
ablation_probe = dict(_base_.pooled_probe, weight_decays=(1e-4, 1e-3, 1e-2))

# The runs the papers' headline findings rest on: the masking ratio (MAE
# Fig. 5), the mask token in the encoder (MAE Table 1c), SimMIM and
# ConvMAE against MAE at an equal budget. `mae_default` (75% random
# masking, pixel target, no mask token in the encoder, decoder 2 x 64)
# sits in every figure.
core_runs = [
    dict(
        name='mae_default',
        config=ABL + '_base_/mae_ablation_vit-large-p16_800e.py',
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
        config=ABL + '_base_/mae_ablation_vit-large-p16_800e.py',
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
        name='simmim',
        config='configs/simmim/'
        'simmim_vit-base-p16_16xb128-amp-step-800e_in1k.py',
        scale='simmim',
        finetune=dict(
            simmim_finetune,
            epochs=3,
            options=dict(simmim_finetune['options'], **ablation_subset),
        ),
        groups=dict(method='SimMIM'),
    ),
    dict(
        name='convmae',
        config='configs/convmae/'
        'convmae_convvit-base-p16_8xb128-amp-coslr-1600e_in1k.py',
        scale='convmae',
        finetune=dict(
            convmae_finetune,
            epochs=3,
            options=dict(convmae_finetune['options'], **ablation_subset),
        ),
        probe=dict(ablation_probe, features=convmae_probe['features']),
        groups=dict(method='ConvMAE'),
    ),
]
