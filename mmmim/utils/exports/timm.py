# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim image encoders and classifiers <-> timm.

Three timm families hold mmmim models with the same computation:

* ``MAEViT`` (MAE encoders and their fine-tuned classifiers) ->
  timm ``VisionTransformer`` (``vit_{base,large,huge}_patch*``). The MAE
  keys are timm's already (the official MAE code is timm-based): only the
  ``backbone.`` prefix goes, and ``head.fc`` becomes ``head``. Global-pool
  classifiers (mean of the patch tokens -> ``fc_norm`` -> head, no final
  norm) are ``global_pool='avg', fc_norm=True``; encoders are
  ``global_pool='token'`` with the final norm.
* ``SimMIMViT`` -> timm ``Beit`` (``beit_*``): the same BEiT blocks
  (q/v biases, layer scale), the shared table is
  ``use_shared_rel_pos_bias=True``, per-block tables
  ``use_rel_pos_bias=True``.
* ``SimMIMSwin`` (mmpretrain's Swin layout) -> timm ``SwinTransformer``
  (``swin_*``): mmpretrain's ``stages.i.downsample`` (end of stage ``i``,
  ``nn.Unfold`` channel order) is timm's ``layers.(i+1).downsample``
  (start of the next stage, official ``cat(x0, x1, x2, x3)`` order), so
  the patch-merging weights are reordered (the same permutation as
  :mod:`..converters.simmim`, whose rules this module reuses on import).

Not exportable, with the reason (:class:`~.common.ExportError`):

* ``VideoMAEViT``: timm has no video (3-D cube) ViT; use
  :mod:`.hf_videomae`.
* ``ConvMAEViT`` / ``ConvViT``: timm has no model with ConvMAE's
  convolution stages followed by a ViT stage.
* ``WindowedViT`` (dense tasks): its grid blocks with windowed attention
  and an additive bias have no timm counterpart.
* ``MAEViT`` / ``SimMIMViT`` that apply the final norm *and* ``fc_norm``
  (timm replaces the final norm by ``fc_norm`` when pooling), a BEiT
  without the final norm outside mean pooling, and classifiers with a
  parametric neck (the linear-probing ``ClsBatchNormNeck``): timm models
  have no place for those weights.
* ``SimMIMSwin`` with an absolute position embedding (timm's Swin has
  none), with outputs of stages other than the last (timm has one final
  norm), or with a stage grid that is not a multiple of the window (timm
  shrinks such windows and its tables would not match).

Mask tokens exist only for masked pre-training; timm models have none, so
they are dropped (and a masked-pretraining decoder is not exported).
"""

import re
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn

from ..converter_utils import count_blocks, rename_keys
from ..converters import mae as mae_converter
from ..converters import simmim as simmim_converter
from .common import ExportError, model_parts, model_state_dict

__all__ = [
    'TO_TIMM_RULES',
    'timm_model_args',
    'to_timm_state_dict',
    'from_timm_state_dict',
    'export_to_timm',
    'detect_timm_kind',
]

StateDict = Dict[str, torch.Tensor]
_BACKBONE_TOKENS = r'backbone\.(cls_token|pos_embed)$'
#: mmmim -> timm, per family. Mask tokens and rebuilt buffers are dropped.
TO_TIMM_RULES = dict(
    vit=(
        (r'backbone\.mask_token$', None),
        (_BACKBONE_TOKENS, r'\1'),
        (r'backbone\.(patch_embed\.proj|blocks|norm|fc_norm)\.', r'\1.'),
        (r'head\.fc\.', 'head.'),
    ),
    beit=(
        (r'backbone\.mask_token$', None),
        (r'.*relative_position_index$', None),
        (_BACKBONE_TOKENS, r'\1'),
        (
            r'backbone\.(patch_embed\.proj|blocks|norm|fc_norm'
            r'|rel_pos_bias)\.',
            r'\1.',
        ),
        (r'head\.fc\.', 'head.'),
    ),
    swin=(
        (r'backbone\.mask_token$', None),
        (r'.*relative_position_index$', None),
        (r'backbone\.patch_embed\.projection\.', 'patch_embed.proj.'),
        (r'backbone\.patch_embed\.norm\.', 'patch_embed.norm.'),
        (r'backbone\.norm3\.', 'norm.'),
        (r'backbone\.stages\.(\d+)\.blocks\.(\d+)\.', r'layers.\1.blocks.\2.'),
        # The official layout (end of stage i); moved to i + 1 afterwards.
        (r'backbone\.stages\.(\d+)\.downsample\.', r'layers.\1.downsample.'),
        (r'head\.fc\.', 'head.fc.'),
    ),
)
#: Inside a Swin block: mmpretrain's names -> timm's (official) names.
_SWIN_BLOCK_RULES = (
    (r'attn\.w_msa\.', 'attn.'),
    (r'ffn\.layers\.0\.0\.', 'mlp.fc1.'),
    (r'ffn\.layers\.1\.', 'mlp.fc2.'),
)
#: timm -> mmmim beyond the official-checkpoint rules.
_TIMM_HEAD_RULES = dict(
    vit=((r'fc_norm\.', 'backbone.fc_norm.'), (r'head\.', 'head.fc.')),
    beit=((r'head\.', 'head.fc.'),),
    swin=((r'head\.fc\.', 'head.fc.'),),
)
_TIMM_NAMES = dict(
    vit={768: 'vit_base', 1024: 'vit_large', 1280: 'vit_huge'},
    beit={768: 'beit_base', 1024: 'beit_large'},
    swin={96: 'swin_tiny', 128: 'swin_base', 192: 'swin_large'},
)


def _official_merge_weight(weight: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`simmim.unfold_order_weight`: ``nn.Unfold``
    channel order ``[out, C * 4]`` -> official ``[out, 4 * C]``."""
    out_channels, in_channels = weight.shape
    blocks = weight.reshape(out_channels, in_channels // 4, 4)
    return blocks.transpose(1, 2)[:, [0, 2, 1, 3]].reshape(weight.shape)


def _official_merge_vector(vector: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`simmim.unfold_order_vector`."""
    blocks = vector.reshape(-1, 4).transpose(0, 1)
    return blocks[[0, 2, 1, 3]].reshape(vector.shape)


def _to_official_order(key: str, value: torch.Tensor) -> torch.Tensor:
    if '.downsample.reduction.' in key:
        return _official_merge_weight(value)
    if '.downsample.norm.' in key:
        return _official_merge_vector(value)
    return value


def _shift_downsample(state_dict: StateDict, step: int) -> StateDict:
    """Move ``layers.i.downsample`` to ``layers.(i + step).downsample``
    (timm >= 0.9 merges patches at the start of the next stage)."""
    pattern = re.compile(r'layers\.(\d+)\.downsample\.')
    return {
        pattern.sub(
            lambda m: f'layers.{int(m.group(1)) + step}.downsample.', k
        ): v
        for k, v in state_dict.items()
    }


def detect_kind(state_dict: StateDict, source: str = 'model') -> str:
    """``'vit'``, ``'beit'`` or ``'swin'`` from mmmim keys; a clear error for
    encoders timm cannot hold."""
    keys = set(state_dict)
    proj = state_dict.get('backbone.patch_embed.proj.weight')
    if any(k.startswith('backbone.patch_embed1.') for k in keys):
        raise ExportError(
            f'{source} is a ConvMAE/ConvViT model: timm has no model with '
            'its convolution stages followed by a ViT stage.'
        )
    if proj is not None and proj.dim() == 5:
        raise ExportError(
            f'{source} is a VideoMAE model: timm has no video ViT; export '
            'it with tools/model_converters/mmmim_to_hf.py '
            '(transformers VideoMAE).'
        )
    if any(k.startswith('backbone.stages.') for k in keys):
        return 'swin'
    if 'backbone.blocks.0.attn.qkv.weight' not in keys:
        raise ExportError(
            f'{source} holds no MAE/SimMIM encoder weights '
            '("backbone.blocks.0.attn.qkv.weight" or "backbone.stages.*").'
        )
    beit = ('backbone.blocks.0.attn.q_bias', 'backbone.blocks.0.gamma_1')
    if any(k in keys for k in beit) or any('rel_pos' in k for k in keys):
        return 'beit'
    return 'vit'


def _drop_pretraining_parts(
    model: nn.Module, state_dict: StateDict
) -> Tuple[StateDict, list]:
    """An algorithm's decoder and loss head stay behind (timm models are
    encoders or classifiers)."""
    from mmmim.models.algorithms import BaseMIM

    if not isinstance(model, BaseMIM):
        return state_dict, []
    kept = {k: v for k, v in state_dict.items() if k.startswith('backbone.')}
    return kept, sorted(set(state_dict) - set(kept))


def _classifier_args(neck: Optional[nn.Module], head: Optional[nn.Module]):
    """``num_classes`` of a (neck-free) linear head; 0 without a head."""
    if neck is not None and neck.state_dict():
        raise ExportError(
            f'the neck {type(neck).__name__} has weights or statistics '
            '(e.g. the linear probing BatchNorm); timm models have no '
            'place for them. Export the backbone alone (the pre-training '
            'config).'
        )
    if head is None:
        return 0
    fc = getattr(head, 'fc', None)
    if not isinstance(fc, nn.Linear):
        raise ExportError(
            f'head {type(head).__name__} is not a linear classifier '
            '(head.fc); only encoders and LinearClsHead classifiers export '
            'to timm.'
        )
    return fc.out_features


def _check_eps(norm: nn.Module, eps: float, family: str) -> None:
    if abs(norm.eps - eps) > 1e-12:
        raise ExportError(
            f'the model uses LayerNorm eps {norm.eps}; timm {family} '
            f'models use {eps}.'
        )


def _vit_args(backbone, kind: str) -> dict:
    """Arguments shared by timm ViT and BEiT."""
    dims, p = backbone.embed_dims, backbone.patch_size
    h, w = backbone.grid_size
    ffn = backbone.blocks[0].mlp.fc1.out_features
    _check_eps(backbone.blocks[0].norm1, 1e-6, kind)
    args = dict(
        img_size=h * p if h == w else (h * p, w * p),
        patch_size=p,
        in_chans=backbone.patch_embed.proj.in_channels,
        embed_dim=dims,
        depth=backbone.num_layers,
        num_heads=backbone.arch_settings['num_heads'],
        mlp_ratio=ffn / dims,
    )
    pooled = hasattr(backbone, 'fc_norm')
    if pooled and backbone.norm is not None:
        raise ExportError(
            'the model applies the final norm and fc_norm; timm replaces '
            'the final norm by fc_norm when it pools. Build it with '
            "final_norm=False (the fine-tuning configs) or out_type='raw'."
        )
    args['global_pool'] = 'avg' if pooled else 'token'
    return args


def timm_model_args(model: nn.Module) -> Tuple[str, dict]:
    """The timm model name and ``create_model`` keyword arguments of an
    mmmim encoder, algorithm (its encoder) or classifier.

    Args:
        model (nn.Module): A backbone, an algorithm such as ``MAE`` or an
            ``ImageClassifier`` with a linear head.

    Returns:
        Tuple[str, dict]: E.g. ``('vit_base_patch16_224',
        dict(global_pool='avg', fc_norm=True, num_classes=1000, ...))``
        for ``timm.create_model(name, pretrained=False, **kwargs)``.

    Raises:
        ExportError: For models timm has no architecture for (see the
            module docstring).
    """
    from mmmim.models.algorithms import BaseMIM
    from mmmim.models.backbones import MAEViT, SimMIMSwin, SimMIMViT

    backbone, neck, head = model_parts(model)
    if isinstance(model, BaseMIM):
        neck = head = None  # the decoder is not exported
    num_classes = _classifier_args(neck, head)
    if isinstance(backbone, SimMIMSwin):
        return _swin_args(backbone, num_classes)
    if isinstance(backbone, SimMIMViT):
        args = _vit_args(backbone, 'beit')
        if backbone.norm is None and args['global_pool'] != 'avg':
            raise ExportError(
                'timm BEiT always has a final norm unless it mean-pools; '
                'build the SimMIMViT with final_norm=True or out_type='
                "'avg_featmap'."
            )
        block = backbone.blocks[0]
        args.update(
            qkv_bias=block.attn.q_bias is not None,
            # Any value builds gamma_1/2; the loaded weights replace it.
            init_values=(
                0.1 if getattr(block, 'gamma_1', None) is not None else None
            ),
            use_abs_pos_emb=backbone.pos_embed is not None,
            use_rel_pos_bias=backbone.rel_pos_mode == 'per_layer',
            use_shared_rel_pos_bias=backbone.rel_pos_mode == 'shared',
            use_fc_norm=args['global_pool'] == 'avg',
            num_classes=num_classes,
        )
        return _name('beit', args['embed_dim'], args['patch_size']), args
    if type(backbone) is MAEViT:
        if backbone.encoder_mask_token and not isinstance(model, BaseMIM):
            raise ExportError(
                'MAEViT with encoder_mask_token is a pre-training encoder; '
                'export its algorithm (the mask token is dropped).'
            )
        args = _vit_args(backbone, 'vit')
        args.update(
            qkv_bias=backbone.blocks[0].attn.qkv.bias is not None,
            class_token=True,
            fc_norm=args['global_pool'] == 'avg',
            # timm drops fc_norm too without final_norm: only the token
            # pool may lack the final norm.
            final_norm=backbone.norm is not None
            or args['global_pool'] == 'avg',
            num_classes=num_classes,
        )
        return _name('vit', args['embed_dim'], args['patch_size']), args
    raise ExportError(
        f'{type(backbone).__name__} has no timm architecture: VideoMAEViT '
        '(a video ViT: use mmmim_to_hf.py), ConvMAEViT/ConvViT (convolution '
        'stages + ViT) and WindowedViT (windowed grid blocks) have no timm '
        'counterpart; MAEViT, SimMIMViT and SimMIMSwin export.'
    )


def _swin_args(backbone, num_classes: int) -> Tuple[str, dict]:
    """timm ``SwinTransformer`` arguments of a ``SimMIMSwin``."""
    if backbone.use_abs_pos_embed:
        raise ExportError(
            'this Swin has an absolute position embedding; timm Swin has '
            'none. Export Swin models built with use_abs_pos_embed=False.'
        )
    if tuple(backbone.out_indices) != (3,) or backbone.out_after_downsample:
        raise ExportError(
            f'this Swin outputs stages {tuple(backbone.out_indices)}; timm '
            'Swin has one final norm, after the last stage: use '
            'out_indices=(3,).'
        )
    window = backbone.stages[0].blocks[0].attn.w_msa.window_size[0]
    h, w = backbone.patch_resolution
    for i in range(backbone.num_layers):
        side_h, side_w = h // 2**i, w // 2**i
        if side_h % window or side_w % window:
            raise ExportError(
                f'stage {i} has a {side_h}x{side_w} grid, not a multiple of '
                f'window_size {window}; timm Swin shrinks or pads such '
                'windows differently. Pick img_size so that every stage '
                'grid is a multiple of the window (e.g. 192/6, 224/7).'
            )
    _check_eps(backbone.norm3, 1e-5, 'Swin')
    ffn = backbone.stages[0].blocks[0].ffn.layers[0][0].out_features
    p = backbone.patch_size
    args = dict(
        img_size=h * p if h == w else (h * p, w * p),
        patch_size=p,
        in_chans=backbone.patch_embed.projection.in_channels,
        embed_dim=backbone.embed_dims,
        depths=tuple(backbone.depths),
        num_heads=tuple(backbone.num_heads),
        window_size=window,
        mlp_ratio=ffn / backbone.embed_dims,
        qkv_bias=backbone.stages[0].blocks[0].attn.w_msa.qkv.bias is not None,
        global_pool='avg',
        num_classes=num_classes,
    )
    name = _TIMM_NAMES['swin'].get(args['embed_dim'], 'swin_base')
    return f'{name}_patch4_window7_224', args


def _name(kind: str, dims: int, patch_size: int) -> str:
    """A timm variant name; its defaults are overridden by the
    arguments, so any geometry works (the name is informative)."""
    import timm

    base = _TIMM_NAMES[kind].get(dims, f'{kind}_base')
    name = f'{base}_patch{patch_size}_224'
    return name if timm.is_model(name) else f'{kind}_base_patch16_224'


def to_timm_state_dict(
    state_dict: StateDict, source: str = 'model'
) -> Tuple[StateDict, str]:
    """mmmim weights (``backbone.*``, ``head.fc.*``) -> timm weights.

    Args:
        state_dict (dict): Weights of an mmmim encoder or classifier (an
            algorithm's ``neck.*``/``head.*`` must be removed first).
        source (str): Name used in error messages.

    Returns:
        Tuple[dict, str]: The timm weights (copies) and the family
        (``'vit'``, ``'beit'`` or ``'swin'``).
    """
    kind = detect_kind(state_dict, source)
    hint = 'Only encoders and linear classifiers export to timm.'
    if kind != 'swin':
        return rename_keys(state_dict, TO_TIMM_RULES[kind], source, hint), kind
    renamed = rename_keys(
        state_dict, TO_TIMM_RULES['swin'], source, hint, _to_official_order
    )
    inner = [
        (r'(layers\.\d+\.blocks\.\d+\.)' + p, r'\1' + r)
        for p, r in _SWIN_BLOCK_RULES
    ] + [(r'.*', r'\g<0>')]
    renamed = rename_keys(renamed, inner, source)
    return _shift_downsample(renamed, 1), kind


def detect_timm_kind(state_dict: StateDict, source: str = 'checkpoint'):
    """``'vit'``, ``'beit'`` or ``'swin'`` from timm keys."""
    keys = set(state_dict)
    if any(k.startswith('layers.') for k in keys):
        return 'swin'
    if 'blocks.0.attn.qkv.weight' not in keys:
        raise ExportError(
            f'{source} is not a timm ViT, BEiT or Swin state dict: '
            '"blocks.0.attn.qkv.weight" and "layers.*" are missing.'
        )
    beit = ('blocks.0.attn.q_bias', 'blocks.0.gamma_1')
    if any(k in keys for k in beit) or any('rel_pos' in k for k in keys):
        return 'beit'
    return 'vit'


def from_timm_state_dict(
    state_dict: StateDict, source: str = 'checkpoint'
) -> Tuple[StateDict, dict]:
    """timm weights -> mmmim weights and meta (family and geometry).

    The official-checkpoint rules of :mod:`..converters.mae` (ViT) and
    :mod:`..converters.simmim` (BEiT, Swin) apply, since timm keeps the
    official names; Swin's relative position index buffers (not in timm
    state dicts, but in mmpretrain's) are rebuilt from the window.

    Args:
        state_dict (dict): A timm ``state_dict()``.
        source (str): Name used in error messages.

    Returns:
        Tuple[dict, dict]: mmmim weights (``backbone.*``, ``head.fc.*``)
        for ``MAEViT`` / ``SimMIMViT`` / ``SimMIMSwin`` models and their
        classifiers, and the meta.
    """
    kind = detect_timm_kind(state_dict, source)
    hint = f'Is this a timm {kind} model of the same family?'
    heads = _TIMM_HEAD_RULES[kind]
    if kind == 'vit':
        rules = (mae_converter.RULES[0], *heads)
        converted = rename_keys(state_dict, rules, source, hint)
        return converted, dict(
            kind=kind, arch=mae_converter.describe_arch(state_dict)
        )
    if kind == 'beit':
        rules = (*simmim_converter.VIT_RULES, *heads)
        converted = rename_keys(state_dict, rules, source, hint)
        arch = simmim_converter.describe_arch(state_dict, 'vit')
        return converted, dict(kind=kind, arch=arch)
    official = _shift_downsample(state_dict, -1)
    last = count_blocks(official, 'layers.') - 1
    rules = (
        (r'norm\.', f'backbone.norm{last}.'),
        *simmim_converter.SWIN_RULES,
        *heads,
    )
    converted = rename_keys(
        official, rules, source, hint, simmim_converter._unfold_order
    )
    _add_swin_index(converted)
    arch = simmim_converter.describe_arch(official, 'swin')
    return converted, dict(kind=kind, arch=arch)


def _add_swin_index(state_dict: StateDict) -> None:
    """Add each block's ``relative_position_index`` (a buffer of
    mmpretrain's Swin, saved in its checkpoints) rebuilt from its table."""
    from timm.models.swin_transformer import get_relative_position_index

    suffix = 'relative_position_bias_table'
    for key in [k for k in state_dict if k.endswith(suffix)]:
        side = (int(round(state_dict[key].shape[0] ** 0.5)) + 1) // 2
        index = get_relative_position_index(side, side)
        state_dict[key.replace('bias_table', 'index')] = index


def export_to_timm(model: nn.Module, strict: bool = True):
    """Build the timm model of an mmmim model and load its weights.

    Args:
        model (nn.Module): See :func:`timm_model_args`.
        strict (bool): Strict loading. Defaults to True.

    Returns:
        Tuple[nn.Module, dict]: The timm model (eval mode) and the meta:
        ``model_name``, ``kwargs`` and the ``dropped`` keys (decoder,
        mask tokens).
    """
    import timm

    name, kwargs = timm_model_args(model)
    state, dropped = _drop_pretraining_parts(model, model_state_dict(model))
    dropped += [k for k in state if k.endswith('mask_token')]
    timm_state, _ = to_timm_state_dict(state, type(model).__name__)
    if 'depth' in kwargs and 'use_shared_rel_pos_bias' not in kwargs:
        # A timm ViT has no buffers: build it without memory or init and
        # adopt the converted tensors (copies already).
        with torch.device('meta'):
            timm_model = timm.create_model(name, pretrained=False, **kwargs)
        timm_model.load_state_dict(timm_state, strict=strict, assign=True)
    else:
        timm_model = timm.create_model(name, pretrained=False, **kwargs)
        timm_model.load_state_dict(timm_state, strict=strict)
    meta = dict(model_name=name, kwargs=kwargs, dropped=dropped)
    timm_model.eval()
    return timm_model, meta
