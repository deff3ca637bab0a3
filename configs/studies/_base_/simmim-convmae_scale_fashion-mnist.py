# How the released SimMIM ViT-B/16 recipe becomes a Fashion-MNIST study
# run: the encoder, data, batch, lr and epochs of the MAE scale (so the two
# methods compare at equal size and budget); SimMIM's own recipe (mask
# token in the encoder, 60% masking, linear decoder, L1 on the masked
# pixels, layer scale, shared relative position bias, AdamW betas 0.999,
# gradient clipping, step decay, 67-100% crops) from the released file.
_base_ = ['./mae_scale_fashion-mnist.py']

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
# stages at 1/1, 1/2, 1/4 of 28 px (patch sizes 1, 2, 2): the transformer
# stage sees the same 7 x 7 grid as the ViT runs, each stage halves the
# resolution, and the widths keep ConvMAE-B's 1/3 : 1/2 : 1 ratio at the
# study's 128-d width. The decoder scales as MAE's does.
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
            'model.backbone.patch_sizes': (1, 2, 2),
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
                patch_sizes=(1, 2, 2),
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
