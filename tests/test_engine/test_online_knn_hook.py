# Copyright (c) mmmim contributors. All rights reserved.
"""OnlineKNNHook inside a real mmengine training run of a tiny MAE."""

import json
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

from mmmim.engine.hooks import OnlineKNNHook
from mmmim.evaluation.functional import topk_accuracy, weighted_knn_scores
from mmmim.registry import HOOKS

from ..installed import require

TINY_MAE = dict(
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=dict(
            embed_dims=32, num_layers=1, num_heads=4, feedforward_channels=64
        ),
        img_size=32,
        patch_size=8,
    ),
    neck=dict(
        type='MAEDecoder',
        num_patches=16,
        patch_size=8,
        embed_dims=32,
        decoder_embed_dims=32,
        decoder_num_layers=1,
        decoder_num_heads=4,
    ),
    head=dict(type='PixelReconstructionHead', patch_size=8, norm_pix=True),
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
)
NUM_CLASSES = 3
METRIC = dict(k=5, topk=(1, 2))


class LabelledImages(Dataset):
    """Noisy images ``[3, 32, 32]`` whose colour depends on the class,
    faintly (a colour shift of 10 under noise of std 60): the kNN is right
    for some queries only, so the accuracy is informative."""

    metainfo: dict = {}

    def __init__(self, length: int, seed: int, labelled: bool = True):
        gen = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(length) % NUM_CLASSES
        shift = torch.tensor([[1, -1, 0], [0, 1, -1], [-1, 0, 1]])
        base = (128 + 10 * shift[self.labels])[:, :, None, None].float()
        noise = torch.randn(length, 3, 32, 32, generator=gen) * 60
        self.images = (base + noise).clamp(0, 255).to(torch.uint8)
        self.labelled = labelled

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: int) -> dict:
        sample = DataSample(metainfo=dict(sample_idx=idx))
        if self.labelled:
            sample.set_gt_label(int(self.labels[idx]))
        return dict(inputs=self.images[idx], data_samples=sample)


def loader(dataset: Dataset) -> dict:
    return dict(dataset=dataset, batch_size=4, num_workers=0)


def knn_hook(**kwargs) -> dict:
    cfg = dict(
        type='OnlineKNNHook',
        bank_dataloader=loader(LabelledImages(15, seed=1)),
        query_dataloader=loader(LabelledImages(6, seed=2)),
        interval=2,
        metric=METRIC,
    )
    cfg.update(kwargs)
    return cfg


def train(work_dir, custom_hooks, max_iters=4) -> Runner:
    # The runner imports every mmmim registry location, mmcv included.
    require('mmcv')  # mmmim.datasets needs mmcv
    with DefaultScope.overwrite_default_scope('mmmim'):
        runner = Runner(
            model=TINY_MAE,
            work_dir=str(work_dir),
            train_dataloader=dict(
                dataset=LabelledImages(8, seed=0),
                sampler=dict(type='DefaultSampler', shuffle=True),
                batch_size=4,
                num_workers=0,
            ),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
            optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
            default_hooks=dict(
                logger=dict(type='LoggerHook', interval=1),
                checkpoint=dict(type='CheckpointHook', interval=100),
            ),
            custom_hooks=custom_hooks,
            randomness=dict(seed=0),
            default_scope='mmmim',
            experiment_name=f'exp_{work_dir.name}',
        )
        runner.train()
    return runner


def logged(runner: Runner, name: str = 'scalars.json') -> list:
    """The kNN records of the run's JSON log."""
    path = f'{runner.log_dir}/vis_data/{name}'
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return [r for r in records if 'knn/top1' in r]


def the_hook(runner: Runner) -> OnlineKNNHook:
    return next(h for h in runner.hooks if isinstance(h, OnlineKNNHook))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """The run with the hook, and its kNN records right after training
    (later tests call the hook again, which logs more)."""
    runner = train(tmp_path_factory.mktemp('knn') / 'with_hook', [knn_hook()])
    return SimpleNamespace(
        runner=runner,
        records=logged(runner),
        json_records=logged(runner, f'{runner.timestamp}.json'),
        hub=runner.message_hub.get_scalar('knn/top1').current(),
    )


def metrics_of(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != 'step'}


@torch.no_grad()
def own_features(model, dataset, masked: bool = False):
    """Features and labels of every sample, without the hook or encode:
    the cls token of the backbone given an all-visible mask (``masked``:
    the mask generator's 75 % instead, the pre-training forward)."""
    batch = [dataset[i] for i in range(len(dataset))]
    data = model.data_preprocessor(
        dict(
            inputs=[b['inputs'] for b in batch],
            data_samples=[b['data_samples'] for b in batch],
        ),
        False,
    )
    inputs = data['inputs']
    model.eval()
    mask = None if masked else torch.zeros(len(inputs), 16, dtype=bool)
    if masked:
        model.train()
    latent, _ = model.backbone(inputs, mask)
    model.train()
    return latent[:, 0], dataset.labels


def test_hook_is_registered():
    assert HOOKS.get('OnlineKNNHook') is OnlineKNNHook
    assert MMENGINE_HOOKS.get('mmmim.OnlineKNNHook') is OnlineKNNHook


def test_top1_is_logged_every_interval(trained):
    records = trained.records
    assert [r['step'] for r in records] == [2, 4]  # none again after train
    for record in records:
        assert set(record) == {'knn/top1', 'knn/top2', 'step'}
        top1, top2 = record['knn/top1'], record['knn/top2']
        assert isinstance(top1, float) and 0 <= top1 <= top2 <= 100
        # 6 queries: a multiple of 100 / 6.
        assert top1 * 6 / 100 == pytest.approx(round(top1 * 6 / 100))
    # The same lines in the run's JSON log, and the text log.
    assert trained.json_records == records
    runner = trained.runner
    with open(f'{runner.log_dir}/{runner.timestamp}.log') as f:
        text = f.read()
    assert f'Iter(knn) [4]  knn/top1: {records[-1]["knn/top1"]:.2f}' in text
    assert trained.hub == records[-1]['knn/top1']


def test_value_equals_the_functional_on_own_features(trained):
    """The last evaluation saw the final weights (after iteration 4)."""
    model = trained.runner.model
    hook = the_hook(trained.runner)
    bank_x, bank_y = own_features(model, hook.loaders['bank'].dataset)
    query_x, query_y = own_features(model, hook.loaders['query'].dataset)
    scores = weighted_knn_scores(bank_x, bank_y, query_x, k=5)
    expected = topk_accuracy(scores, query_y, (1, 2))
    last = trained.records[-1]
    assert 0 < last['knn/top1'] < 100  # neither all right nor all wrong
    assert last['knn/top1'] == expected[1]
    assert last['knn/top2'] == expected[2]
    # Negative control: with the pre-training mask on, the features (that
    # the comparison above would catch) are different.
    masked_x, _ = own_features(model, hook.loaders['query'].dataset, True)
    assert not torch.allclose(masked_x, query_x, atol=1e-3)


def test_evaluation_leaves_modes_weights_and_rng_alone(trained):
    runner = trained.runner
    model = runner.model
    model.train()
    model.neck.eval()  # a part frozen on purpose stays in eval mode
    modes = {name: m.training for name, m in model.named_modules()}
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    metrics = the_hook(runner).evaluate(runner, step=4)
    assert metrics == metrics_of(trained.records[-1])
    assert {n: m.training for n, m in model.named_modules()} == modes
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), key
    assert torch.equal(torch.get_rng_state(), rng)
    model.train()


def test_training_is_the_same_as_without_the_hook(trained, tmp_path):
    plain = train(tmp_path / 'plain', [])
    model = trained.runner.model
    assert model.training
    for (name, a), b in zip(
        model.state_dict().items(), plain.model.state_dict().values()
    ):
        assert torch.equal(a, b), name


def test_wrapped_model_in_a_process_group(trained):
    """Under DDP the hook encodes ``model.module`` and gathers the
    results through mmengine.dist (a one-process gloo group here)."""
    from mmengine.model import MMDistributedDataParallel

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    torch_dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0, world_size=1
    )
    trained_runner = trained.runner
    try:
        wrapped = MMDistributedDataParallel(module=trained_runner.model)
        runner = SimpleNamespace(
            model=wrapped,
            message_hub=trained_runner.message_hub,
            visualizer=trained_runner.visualizer,
            timestamp=trained_runner.timestamp,
            logger=trained_runner.logger,
        )
        metrics = the_hook(trained_runner).evaluate(runner, step=5)
    finally:
        torch_dist.destroy_process_group()
    # The weights of step 4; logged at the step given.
    assert metrics == metrics_of(trained.records[-1])
    assert logged(trained_runner)[-1] == dict(metrics, step=5)


def test_interval_zero_evaluates_only_after_training(tmp_path):
    runner = train(tmp_path / 'end', [knn_hook(interval=0)], max_iters=2)
    assert [r['step'] for r in logged(runner)] == [2]


def test_unlabelled_data_is_a_clear_error(tmp_path):
    hook = knn_hook(query_dataloader=loader(LabelledImages(6, 2, False)))
    with pytest.raises(ValueError, match='no gt_label'):
        train(tmp_path / 'unlabelled', [hook], max_iters=2)
