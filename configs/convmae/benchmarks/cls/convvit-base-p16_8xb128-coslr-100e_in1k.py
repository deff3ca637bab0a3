# Fine-tune a ConvMAE-B encoder on ImageNet-1k: the official recipe
# (Alpha-VL/ConvMAE FINETUNE.md, 85.0 top-1), the MAE fine-tuning protocol
# with the ConvViT classifier: global attention everywhere, mean of the
# stage-3 tokens -> fc_norm -> Linear; learnable pos_embed, drop path 0.1,
# layer decay 0.65 with the official ids (stages 1-2 and the embeddings 0,
# stage-3 block i -> i + 1), total batch 1024, 100 epochs.
# Set model.backbone.init_cfg.checkpoint to the pre-trained weights (a
# ConvMAE run, or tools/model_converters/convmae_to_mmmim.py output).
_base_ = [
    '../../../_base_/models/mae_vit-base-p16_finetune.py',
    '../../../_base_/datasets/imagenet_bs128_mae_finetune.py',
    '../../../_base_/schedules/adamw_coslr_mae_finetune.py',
    '../../../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmmim.ConvViT',
        arch='b',
        img_size=224,
        out_type='avg_featmap',
        out_indices=(2,),
        window_size=None,
        use_rel_pos_bias=False,
        drop_path_rate=0.1,
        pos_embed_trainable=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.'),
    ),
)

default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook',
        interval=1,
        max_keep_ckpts=3,
        save_best='auto',
    ),
)
