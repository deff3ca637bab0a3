# The papers' headline ablations on Fashion-MNIST, under an hour on 2 CPU
# cores: MAE's masking ratio 25 / 50 / 75 / 90 % (Fig. 5) and mask
# token in the encoder (Table 1c), and SimMIM and ConvMAE against MAE at
# the same encoder size and budget, next to raw pixels and the encoder
# from random initialisation. Each run is a released config scaled by
# ./_base_/simmim-convmae_scale_fashion-mnist.py (4 epochs of
# pre-training on 30k images, kNN, linear probe, 3 fine-tuning epochs on a
# 10k labelled subset).
#   python tools/analysis_tools/mim_study.py \
#       configs/studies/mim-ablations-core_vit-mini-p4_fashion-mnist.py \
#       --work-dir work_dirs/mae-ablations_fashion-mnist
# (the full ablation study, mae-ablations_vit-mini-p4_fashion-mnist.py,
# shares these runs: give both the same --work-dir and it trains only the
# rest.)
_base_ = ['./_base_/simmim-convmae_scale_fashion-mnist.py']

study = dict(
    name='mim-ablations-core_fashion-mnist',
    scales=_base_.ablation_scales,
    finetune=_base_.ablation_finetune,
    probe=_base_.ablation_probe,
    runs=_base_.core_runs,
    # Each method against its own encoder from random initialisation.
    baselines=dict(pixels=True, random=['mae_default', 'simmim', 'convmae']),
)
