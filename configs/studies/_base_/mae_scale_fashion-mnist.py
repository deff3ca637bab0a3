# How the released MAE configs (the ViT-L ablations of the MAE paper and
# the ImageNet recipes) become Fashion-MNIST study runs on a CPU: the data,
# the image and model sizes, batch, lr and epochs change; the rest of each
# recipe (mask generator and ratio, mask token in the encoder, target,
# augmentation, optimizer, schedule shape) comes from the released file.
# See mmmim/analysis/study/scale.py for the keys.
_base_ = ['../../_base_/datasets/fashion_mnist_28px.py']

img_size = 28
patch_size = 4
embed_dims = 128

# What every method's scale sets the same way: data normalisation, loader,
# optimizer step size, logging and the CPU process-group backend.
common_replace = {
    'model.data_preprocessor.mean': {{_base_.fashion_mnist_mean}},
    'model.data_preprocessor.std': {{_base_.fashion_mnist_std}},
    'model.data_preprocessor.to_rgb': False,
    'train_dataloader.batch_size': 128,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.pin_memory': False,
    # blr 1.5e-4 x 4096 / 256 is tuned for 800 epochs of 1.28M
    # images; a few epochs of 60k need a larger step.
    'optim_wrapper.type': 'OptimWrapper',
    'optim_wrapper.optimizer.lr': 1.5e-3,
    'optim_wrapper.optimizer.fused': False,
    'default_hooks.logger.interval': 100,
    'env_cfg.dist_cfg.backend': 'gloo',
}

# ViT-L/16 at 224 px -> a 128-d, 4-block ViT on 4 x 4 patches of 28 x 28
# images (a 7 x 7 grid). The decoder keeps its width relative to the
# encoder (released 512 of 1024 -> 64 of 128, every ablation width / 8)
# and roughly its share of the compute (released depth 8 -> 2; the depth
# ablations 1, 2, 4 -> 1 block, 12 -> 3).
mae_scale = dict(
    value_maps={
        'model.neck.decoder_embed_dims': {
            128: 16,
            256: 32,
            512: 64,
            768: 96,
            1024: 128,
        },
        'model.neck.decoder_num_layers': {1: 1, 2: 1, 4: 1, 8: 2, 12: 3},
    },
    replace=dict(
        common_replace,
        **{
            'model.backbone.arch': dict(
                embed_dims=embed_dims,
                num_layers=4,
                num_heads=4,
                feedforward_channels=4 * embed_dims,
            ),
            'model.backbone.img_size': img_size,
            'model.backbone.patch_size': patch_size,
            'model.neck.num_patches': (img_size // patch_size) ** 2,
            'model.neck.patch_size': patch_size,
            'model.neck.embed_dims': embed_dims,
            'model.neck.decoder_num_heads': 4,
            'model.head.patch_size': patch_size,
        },
    ),
    # bf16 autocast is a GPU setting.
    delete=['optim_wrapper.dtype'],
    dataset=dict(type='mmmim.FashionMNIST', data_root='', split='train'),
    drop_transforms=['LoadImageOrSkip', 'LoadImageFromFile'],
    img_size=(224, img_size),
    # A 20% crop of a 28-pixel image is 12 pixels: keep at least half.
    pipeline_merge=dict(RandomResizedCrop=dict(crop_ratio_range=(0.5, 1.0))),
    warmup_epochs=1,
)

# Fine-tuning: the MAE fine-tuning recipe at this size on all 60k labelled
# images (the config's 10k subset dropped).
finetune = dict(
    config='configs/mae/benchmarks/cls/'
    'vit-mini-p4_1xb128-coslr-4e_fashion-mnist.py',
    options={'train_dataloader.dataset.subset_size': None},
)
# kNN and linear probe read four candidate features of the frozen
# encoder: the pooled patch tokens after the final norm, the class token
# (the MAE paper's linear probe), the pooled tokens of all 4 blocks
# concatenated, and (for the kNN) the last block's 7 x 7 token map
# (flattened, 6272-d; pooling throws away where things are, which raw
# pixels keep). Each probe
# reports the candidate, k and L2 with the best top-1 on 10k held-out
# training images; the test images choose nothing.
probe = dict(
    num_val=10000,
    weight_decays=(1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
    features=[
        dict(name='pooled', pool='avg', out_indices=[-1]),
        dict(name='cls', pool='cls', out_indices=[-1]),
        dict(name='pooled_all_blocks', pool='avg', out_indices=[0, 1, 2, 3]),
        # kNN only: L-BFGS on 60k x 6272 features takes longer than the
        # whole pre-training on 2 cores.
        dict(name='token_map', pool='none', out_indices=[-1], probes=['knn']),
    ],
)
# The ablations compare many runs: the pooled candidates only (the token
# map's kNN alone takes ~4 min on 2 cores).
pooled_probe = dict(probe, features=probe['features'][:3])
