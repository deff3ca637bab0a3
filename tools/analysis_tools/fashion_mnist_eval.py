# Copyright (c) mmmim contributors. All rights reserved.
"""Evaluate MAE pre-training on real data: Fashion-MNIST on CPU.

1. pre-trains a small MAE on the 60k training images (no labels);
2. for the MAE encoder and for a randomly initialised encoder of the same
   shape: fine-tunes and linear-probes it on a labelled subset of the
   training set (the MAE protocols of ``configs/mae/benchmarks/cls``,
   shortened) and runs a cosine kNN on its frozen features;
3. reports top-1 on the 10k test images as a markdown table, also written
   to ``WORK_DIR/results.md`` and ``WORK_DIR/results.json``.

Every training stage runs ``tools/train.py`` on a config written to its
work folder, so each can be rerun on its own. About 13 minutes on 2 idle
CPU cores::

    OMP_NUM_THREADS=2 python tools/analysis_tools/fashion_mnist_eval.py

The data comes from ``--data-root``, ``/usr/share/datasets/fashion-mnist``
or ``tools/misc/prepare_fashion_mnist.sh`` (run when neither has it).
"""

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MMLogger

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PRETRAIN_CFG = 'configs/mae/mae_vit-mini-p4_1xb128-coslr-3e_fashion-mnist.py'
FINETUNE_CFG = (
    'configs/mae/benchmarks/cls/vit-mini-p4_1xb128-coslr-4e_fashion-mnist.py'
)
LINEAR_CFG = (
    'configs/mae/benchmarks/cls/'
    'vit-mini-p4_1xb256-linear-coslr-8e_fashion-mnist.py'
)
SYSTEM_ROOT = '/usr/share/datasets/fashion-mnist'
FILES = ('train-images-idx3-ubyte.gz', 't10k-images-idx3-ubyte.gz')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', help='folder of the IDX files')
    parser.add_argument(
        '--work-dir', default='work_dirs/fashion_mnist_eval', help='outputs'
    )
    parser.add_argument(
        '--pretrain-epochs', type=int, help='override the config (3)'
    )
    parser.add_argument(
        '--finetune-epochs', type=int, help='override the config (4)'
    )
    parser.add_argument(
        '--linear-epochs', type=int, help='override the config (8)'
    )
    parser.add_argument(
        '--subset',
        type=int,
        help='labelled training images for fine-tuning, probing and kNN '
        '(config: 10000)',
    )
    parser.add_argument(
        '--test-subset', type=int, help='test images (default: all 10k)'
    )
    parser.add_argument(
        '--pretrain-subset',
        type=int,
        help='pre-training images (default: all 60k)',
    )
    parser.add_argument('--knn-k', type=int, default=20)
    parser.add_argument(
        '--knn-temperature',
        type=float,
        default=0.07,
        help='votes weighted by exp(cosine / T)',
    )
    parser.add_argument(
        '--checkpoint',
        help='use this MAE checkpoint instead of pre-training',
    )
    return parser.parse_args()


def log(msg: str) -> None:
    print(
        f'[fashion_mnist_eval {time.strftime("%H:%M:%S")}] {msg}', flush=True
    )


def find_data_root(data_root: Optional[str]) -> str:
    """The folder with the IDX files; fetched by the prepare script."""

    def complete(root: str) -> bool:
        return all(
            osp.isfile(osp.join(root, f)) or osp.isfile(osp.join(root, f[:-3]))
            for f in FILES
        )

    if data_root:
        if not complete(data_root):
            sys.exit(f'error: {data_root} lacks the Fashion-MNIST IDX files')
        return data_root
    if complete(SYSTEM_ROOT):
        return SYSTEM_ROOT
    log('Fashion-MNIST not installed: running prepare_fashion_mnist.sh')
    script = osp.join(REPO, 'tools', 'misc', 'prepare_fashion_mnist.sh')
    proc = subprocess.run(
        ['bash', script], capture_output=True, text=True, check=False
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not complete(lines[-1]):
        sys.exit(
            'error: could not prepare Fashion-MNIST:\n' + proc.stderr[-2000:]
        )
    return lines[-1]


def set_epochs(cfg: Config, epochs: Optional[int]) -> None:
    """Stretch the epoch-based schedule (warm-up kept) to ``epochs``."""
    if epochs is None:
        return
    cfg.train_cfg.max_epochs = epochs
    if cfg.train_cfg.get('val_interval'):
        cfg.train_cfg.val_interval = epochs
    cfg.param_scheduler[-1].end = epochs
    cfg.default_hooks.checkpoint.interval = epochs


def set_data(cfg: Config, data_root: str, args, labelled: bool) -> None:
    train = cfg.train_dataloader.dataset
    train.data_root = data_root
    subset = args.subset if labelled else args.pretrain_subset
    if subset is not None:
        train.subset_size = subset
    if cfg.get('val_dataloader'):
        cfg.val_dataloader.dataset.data_root = data_root
        if args.test_subset:
            cfg.val_dataloader.dataset.subset_size = args.test_subset
        cfg.test_dataloader = cfg.val_dataloader


def run_train(cfg: Config, work_dir: str, name: str) -> Tuple[str, float]:
    """Run tools/train.py on ``cfg`` in ``work_dir``; return the log."""
    os.makedirs(work_dir, exist_ok=True)
    cfg_path = osp.join(work_dir, f'{name}.py')
    cfg.dump(cfg_path)
    log_path = osp.join(work_dir, f'{name}.log')
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'),
        cfg_path,
        '--work-dir',
        work_dir,
    ]
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([REPO, env.get('PYTHONPATH', '')])
    start = time.time()
    log(f'{name}: {" ".join(cmd)} (log: {log_path})')
    with open(log_path, 'w') as f:
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT
        )
    elapsed = time.time() - start
    if proc.returncode != 0:
        with open(log_path) as f:
            tail = f.read()[-3000:]
        sys.exit(f'error: {name} failed ({proc.returncode}):\n{tail}')
    log(f'{name}: done in {elapsed / 60:.1f} min')
    return log_path, elapsed


def last_scalar(work_dir: str, key: str) -> float:
    """The last logged value of ``key`` in the run's scalars.json."""
    value = None
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                for line in f:
                    record = json.loads(line)
                    if key in record:
                        value = record[key]
    if value is None:
        raise RuntimeError(f'no {key!r} logged under {work_dir}')
    return float(value)


def last_checkpoint(work_dir: str) -> str:
    """The run's newest checkpoint (``last_checkpoint`` is relative to the
    work dir)."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return osp.join(work_dir, f.read().strip())


def pretrain(args, data_root: str) -> Tuple[str, Dict]:
    if args.checkpoint:
        from mmmim.utils import safe_torch_load

        meta = safe_torch_load(args.checkpoint).get('meta', {})
        info = dict(checkpoint=args.checkpoint, epochs=meta.get('epoch'))
        return args.checkpoint, info
    cfg = Config.fromfile(osp.join(REPO, PRETRAIN_CFG))
    set_data(cfg, data_root, args, labelled=False)
    set_epochs(cfg, args.pretrain_epochs)
    work_dir = osp.join(args.work_dir, 'pretrain')
    _, elapsed = run_train(cfg, work_dir, 'pretrain')
    info = dict(
        config=PRETRAIN_CFG,
        epochs=cfg.train_cfg.max_epochs,
        final_loss=last_scalar(work_dir, 'loss'),
        minutes=elapsed / 60,
    )
    return last_checkpoint(work_dir), info


def downstream(
    args, data_root: str, base: str, init: str, checkpoint: Optional[str]
) -> Dict:
    """Fine-tune or linear-probe one encoder; return test top-1."""
    protocol = 'finetune' if base == FINETUNE_CFG else 'linear'
    cfg = Config.fromfile(osp.join(REPO, base))
    set_data(cfg, data_root, args, labelled=True)
    set_epochs(
        cfg,
        args.finetune_epochs if protocol == 'finetune' else args.linear_epochs,
    )
    if checkpoint is None:
        cfg.model.backbone.init_cfg = None
        if protocol == 'finetune':
            # Layer-wise decay is a prior for pre-trained weights; it would
            # only slow the lower blocks of a random encoder down.
            cfg.optim_wrapper.paramwise_cfg.layer_decay_rate = 1.0
    else:
        cfg.model.backbone.init_cfg.checkpoint = checkpoint
    name = f'{protocol}_{init}'
    work_dir = osp.join(args.work_dir, name)
    _, elapsed = run_train(cfg, work_dir, name)
    return dict(
        config=base,
        epochs=cfg.train_cfg.max_epochs,
        top1=last_scalar(work_dir, 'accuracy/top1'),
        minutes=elapsed / 60,
    )


@torch.no_grad()
def extract(backbone, dataset, mean, std, batch_size: int = 500):
    feats, labels = [], []
    for start in range(0, len(dataset), batch_size):
        infos = [
            dataset.get_data_info(i)
            for i in range(start, min(start + batch_size, len(dataset)))
        ]
        imgs = np.stack([info['img'] for info in infos])
        x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float()
        x = (x - mean) / std
        feats.append(F.normalize(backbone(x)[-1], dim=-1))
        labels.extend(info['gt_label'] for info in infos)
    return torch.cat(feats), torch.tensor(labels)


def knn_top1(train, test, k: int, temperature: float) -> float:
    """Weighted cosine kNN (as DINO's): votes exp(sim / T) of k neighbours."""
    from mmmim.evaluation.functional import weighted_knn_classify

    (train_x, train_y), (test_x, test_y) = train, test
    pred = weighted_knn_classify(
        train_x, train_y, test_x, k=k, temperature=temperature
    )
    return 100.0 * int((pred == test_y).sum()) / len(test_x)


def knn(args, data_root: str, checkpoint: Optional[str]) -> Dict:
    """kNN on the linear probe's frozen features (pooled, LN)."""
    import mmmim  # noqa: F401
    from mmmim.registry import DATASETS, MODELS
    from mmmim.utils import register_all_modules

    register_all_modules()
    # Keep the per-parameter init report of a random encoder out of stdout.
    name = f'fashion_mnist_eval_knn_{checkpoint is not None}'
    MMLogger.get_instance(name, log_level='WARNING')
    start = time.time()
    cfg = Config.fromfile(osp.join(REPO, LINEAR_CFG))
    set_data(cfg, data_root, args, labelled=True)
    backbone_cfg = cfg.model.backbone
    backbone_cfg.init_cfg = (
        dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')
        if checkpoint
        else None
    )
    torch.manual_seed(cfg.randomness.seed)
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    backbone.eval()
    prep = cfg.model.data_preprocessor
    mean = torch.tensor(prep.mean).view(1, -1, 1, 1)
    std = torch.tensor(prep.std).view(1, -1, 1, 1)
    sets = []
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        dataset_cfg = dict(loader.dataset, pipeline=[])
        sets.append(DATASETS.build(dataset_cfg))
    train, test = (extract(backbone, ds, mean, std) for ds in sets)
    top1 = knn_top1(train, test, args.knn_k, args.knn_temperature)
    return dict(top1=top1, k=args.knn_k, minutes=(time.time() - start) / 60)


def table(results: Dict) -> str:
    head = (
        '| encoder | fine-tune top-1 | linear probe top-1 | '
        f'kNN top-1 (k={results["knn_k"]}) |'
    )
    lines = [head, '|---|---|---|---|']
    names = {
        'mae': f'MAE pre-trained ({results["pretrain"].get("epochs", "?")} '
        'ep)',
        'random': 'random init',
    }
    for init in ('mae', 'random'):
        r = results[init]
        lines.append(
            f'| {names[init]} | {r["finetune"]["top1"]:.2f} | '
            f'{r["linear"]["top1"]:.2f} | {r["knn"]["top1"]:.2f} |'
        )
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    args.work_dir = osp.abspath(args.work_dir)
    os.makedirs(args.work_dir, exist_ok=True)
    start = time.time()
    data_root = find_data_root(args.data_root)
    log(f'data: {data_root}; outputs: {args.work_dir}')
    checkpoint, pretrain_info = pretrain(args, data_root)
    results = dict(
        command=' '.join([osp.relpath(sys.argv[0], REPO), *sys.argv[1:]]),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        data_root=data_root,
        pretrain=pretrain_info,
        knn_k=args.knn_k,
    )
    for init, ckpt in (('mae', checkpoint), ('random', None)):
        results[init] = dict(
            finetune=downstream(args, data_root, FINETUNE_CFG, init, ckpt),
            linear=downstream(args, data_root, LINEAR_CFG, init, ckpt),
            knn=knn(args, data_root, ckpt),
        )
        log(f'{init}: {json.dumps(results[init])}')
    results['total_minutes'] = (time.time() - start) / 60
    markdown = table(results)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(markdown + '\n')
    print(markdown)
    log(f'total {results["total_minutes"]:.1f} min; {args.work_dir}')


if __name__ == '__main__':
    main()
