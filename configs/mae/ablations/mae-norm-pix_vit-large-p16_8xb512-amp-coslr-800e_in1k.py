# MAE ablation (paper Table 1d): target = per-patch normalised pixels.
# This is already the released recipe, so this file only spells the setting
# out next to the other target ablations; it equals its parent. Note that
# the paper's Table 1 baseline used pixels *without* normalisation (see
# mae-pixel_*); the other ablations here change one knob of the released
# (normalised-pixel) recipe instead.
_base_ = './_base_/mae_ablation_vit-large-p16_800e.py'

model = dict(head=dict(norm_pix=True))
