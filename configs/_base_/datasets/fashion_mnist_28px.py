# Fashion-MNIST at its native 28 x 28 pixels, grey replicated to 3 channels
# (mmmim.FashionMNIST reads the IDX files of the Debian package
# dataset-fashion-mnist; tools/misc/prepare_fashion_mnist.sh fetches them
# without root and prints the folder). Train: 60k images, test: 10k.
dataset_type = 'mmmim.FashionMNIST'
data_root = '/usr/share/datasets/fashion-mnist'
img_size = 28

train_pipeline = [
    dict(
        type='mmpretrain.RandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.5, 1.0),
        interpolation='bicubic',
    ),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [dict(type='mmpretrain.PackInputs')]

train_dataloader = dict(
    batch_size=256,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=500,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline,
    ),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1,))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# Mean and std of the training images (0-255), per replicated channel.
fashion_mnist_mean = [72.94, 72.94, 72.94]
fashion_mnist_std = [90.02, 90.02, 90.02]
