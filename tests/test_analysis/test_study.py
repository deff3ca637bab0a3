# Copyright (c) mmmim contributors. All rights reserved.
"""The study runner (tools/analysis_tools/mim_study.py): a two-run smoke
study on tiny IDX files (finite numbers, table and figures written,
resumed without rerunning), the scale-down of released configs and the
probes' known answers."""

import csv
import gzip
import importlib.util
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from mmmim.analysis.study import (
    Launcher,
    knn_probe,
    linear_probe,
    load_study,
    scale_config,
    split_validation,
)

REPO = Path(__file__).resolve().parents[2]
MAIN_STUDY = (
    REPO / 'configs' / 'studies' / 'mae-main_vit-mini-p4_fashion-mnist.py'
)
ABLATIONS = REPO / 'configs' / 'mae' / 'ablations'


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim])
    dims = b''.join(int(d).to_bytes(4, 'big') for d in array.shape)
    path.write_bytes(gzip.compress(header + dims + array.tobytes()))


@pytest.fixture(scope='module')
def tiny_fashion(tmp_path_factory) -> Path:
    """Fashion-MNIST-shaped IDX files: 120 train / 60 test images whose
    class is a bright square at one of ten places (learnable)."""
    root = tmp_path_factory.mktemp('idx')
    rng = np.random.default_rng(0)
    for prefix, n in (('train', 120), ('t10k', 60)):
        labels = np.arange(n, dtype=np.uint8) % 10
        images = rng.integers(0, 60, (n, 28, 28), dtype=np.uint8)
        for img, label in zip(images, labels):
            r, c = divmod(int(label), 5)
            img[4 + 12 * r : 12 + 12 * r, 2 + 5 * c : 7 + 5 * c] = 250
        _write_idx(root / f'{prefix}-images-idx3-ubyte.gz', images)
        _write_idx(root / f'{prefix}-labels-idx1-ubyte.gz', labels)
    return root


def _smoke_study(tmp_path: Path) -> Path:
    """The main study's scale and recipes at 2 epochs on the tiny data,
    two runs (mask ratio 75 and 90 %) in one figure group."""
    path = tmp_path / 'smoke_study.py'
    path.write_text(
        textwrap.dedent(
            f"""\
            _base_ = [{str(MAIN_STUDY)!r}]
            ABL = 'configs/mae/ablations/'
            BASE = ABL + '_base_/mae_ablation_vit-large-p16_800e.py'
            R90 = ABL + 'mae-ratio90_vit-large-p16_8xb512-amp-coslr-800e'
            study = dict(
                name='smoke',
                scales=dict(mae=dict(
                    value_maps={{'train_cfg.max_epochs': {{800: 2}}}},
                    replace={{'train_dataloader.batch_size': 32,
                             'default_hooks.logger.interval': 1}},
                )),
                finetune=dict(epochs=2, options={{
                    'train_dataloader.batch_size': 32,
                    'val_dataloader.batch_size': 30,
                    'default_hooks.logger.interval': 1}}),
                probe=dict(num_val=20, knn_ks=(3, 5)),
                runs=[
                    dict(name='ratio75', scale='mae', config=BASE,
                         groups=dict(mask_ratio=75, mask_token='off')),
                    dict(name='ratio90', scale='mae', config=R90 + '_in1k.py',
                         groups=dict(mask_ratio=90)),
                ],
                baselines=dict(pixels=True, random='ratio75',
                               supervised='ratio75'),
            )
            """
        )
    )
    return path


def _load_tool():
    path = REPO / 'tools' / 'analysis_tools' / 'mim_study.py'
    spec = importlib.util.spec_from_file_location('mim_study', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_study_writes_table_and_figures_and_resumes(
    tmp_path, tiny_fashion, capsys
):
    study_path = _smoke_study(tmp_path)
    study = load_study(str(study_path))
    # The smoke study keeps the main study's scale except what it names.
    assert study.scales['mae']['replace']['model.backbone.img_size'] == 28
    work = tmp_path / 'work'
    tool = _load_tool()
    argv = [
        str(study_path),
        '--work-dir',
        str(work),
        '--data-root',
        str(tiny_fashion),
        '--threads',
        '1',
    ]
    tool.main(argv)
    with open(work / 'results.csv') as f:
        rows = {r['run']: r for r in csv.DictReader(f)}
    assert set(rows) == {
        'baseline_pixels',
        'baseline_random',
        'baseline_supervised',
        'ratio75',
        'ratio90',
    }
    for name in ('ratio75', 'ratio90'):
        for key in ('knn', 'linear', 'finetune', 'sec_per_iter', 'final_loss'):
            assert math.isfinite(float(rows[name][key])), (name, key)
        assert rows[name]['pretrain_epochs'] == '2'
    for key in ('knn', 'linear'):
        assert math.isfinite(float(rows['baseline_pixels'][key]))
        assert math.isfinite(float(rows['baseline_random'][key]))
    # Supervised from scratch trains pre-training + fine-tuning epochs.
    assert rows['baseline_supervised']['finetune_epochs'] == '4'
    # The 90% run pre-trained with its released mask ratio.
    cfg_text = (work / 'ratio90' / 'pretrain' / 'config.py').read_text()
    assert 'mask_ratio=0.9' in cfg_text
    markdown = (work / 'results.md').read_text()
    assert 'raw pixels' in markdown and '| ratio90 |' in markdown
    assert rows['ratio75']['groups'] == 'mask_ratio=75;mask_token=off'
    for figure in ('mask_ratio', 'mask_token'):
        png = work / 'figures' / f'{figure}.png'
        assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # A second call reruns nothing: every stage file is kept as it was.
    stamps = {
        p: p.stat().st_mtime_ns
        for p in work.rglob('*.json')
        if p.parent.name != 'vis_data'
    }
    capsys.readouterr()
    tool.main(argv)
    out = capsys.readouterr().out
    assert 'ratio90/finetune: done before, skipped' in out
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_an_interrupted_training_resumes(tmp_path, tiny_fashion):
    """A training stage without its result file but with a checkpoint is
    resumed (`--resume`), not restarted."""
    from mmmim.analysis.study import StudyRunner

    study = load_study(str(_smoke_study(tmp_path)))
    runner = StudyRunner(
        study,
        str(tmp_path / 'w'),
        str(tiny_fashion),
        Launcher(threads=1),
        log=lambda m: None,
    )
    run = study.run('ratio75')
    first = runner.pretrain(run)
    (tmp_path / 'w' / 'ratio75' / 'pretrain.json').unlink()
    commands = []
    real = Launcher.command

    def spy(self, *args):
        commands.append(real(self, *args))
        return commands[-1]

    Launcher.command = spy
    try:
        second = runner.pretrain(run)
    finally:
        Launcher.command = real
    assert commands and commands[0][-1] == '--resume'
    assert second['final_loss'] == pytest.approx(first['final_loss'])
    # The stage's time adds up its attempts.
    assert second['minutes'] > first['minutes']


def test_launchers_use_the_existing_scripts():
    local = Launcher().command('c.py', 'w', 'job', False)
    assert local[1].endswith('tools/train.py') and local[2:] == [
        'c.py',
        '--work-dir',
        'w',
    ]
    dist = Launcher('dist', gpus=8).command('c.py', 'w', 'job', True)
    assert dist[1].endswith('tools/dist_train.sh')
    assert dist[2:] == ['c.py', '8', '--work-dir', 'w', '--resume']
    slurm = Launcher('slurm', gpus=16, partition='p')
    cmd = slurm.command('c.py', 'w', 'job', False)
    assert cmd[1].endswith('tools/slurm_train.sh')
    assert cmd[2:] == ['p', 'job', 'c.py', 'w']
    assert slurm.env()['GPUS'] == '16'
    with pytest.raises(ValueError, match='--partition'):
        Launcher('slurm')
    with pytest.raises(ValueError, match='local, dist or slurm'):
        Launcher('ssh')


def test_tools_and_configs_found_in_a_checkout_or_a_wheel(tmp_path):
    """A checkout (or editable install) keeps tools/ above the package; a
    wheel install keeps them in mmmim/.mim."""
    from mmmim.analysis.study.runner import find_resource_root

    package = tmp_path / 'site-packages' / 'mmmim'
    (package / '.mim' / 'tools').mkdir(parents=True)
    # Neither has tools/train.py: the checkout is named (the usual place).
    assert find_resource_root(str(package)) == str(package.parent)
    (package / '.mim' / 'tools' / 'train.py').write_text('')
    assert find_resource_root(str(package)) == str(package / '.mim')
    (package.parent / 'tools').mkdir()
    (package.parent / 'tools' / 'train.py').write_text('')
    assert find_resource_root(str(package)) == str(package.parent)


def test_scale_keeps_each_ablation_factor():
    study = load_study(str(MAIN_STUDY))
    scale = study.scales['mae']

    def scaled(name):
        return scale_config(str(ABLATIONS / name), scale)

    base = scale_config(
        str(ABLATIONS / '_base_' / 'mae_ablation_vit-large-p16_800e.py'),
        scale,
    )
    assert base.model.backbone.mask_generator.mask_ratio == 0.75
    assert base.model.neck.decoder_embed_dims == 64
    assert base.model.neck.decoder_num_layers == 2
    assert base.model.head.norm_pix is False
    assert base.train_cfg.max_epochs == 20
    assert base.param_scheduler[-1].end == 20
    assert base.param_scheduler[0].end == 1
    assert 'dtype' not in base.optim_wrapper
    steps = [s['type'] for s in base.train_dataloader.dataset.pipeline]
    assert steps == [
        'mmpretrain.RandomResizedCrop',
        'RandomFlip',
        'mmpretrain.PackInputs',
    ]
    crop = base.train_dataloader.dataset.pipeline[0]
    assert crop['scale'] == 28 and crop['interpolation'] == 'bicubic'
    name = '{}_vit-large-p16_8xb512-amp-coslr-800e_in1k.py'
    assert (
        scaled(
            name.format('mae-ratio90')
        ).model.backbone.mask_generator.mask_ratio
        == 0.9
    )
    assert (
        scaled(
            name.format('mae-enc-mask-token')
        ).model.backbone.encoder_mask_token
        is True
    )
    assert scaled(name.format('mae-norm-pix')).model.head.norm_pix is True
    assert (
        scaled(name.format('mae-dec-width256')).model.neck.decoder_embed_dims
        == 32
    )
    assert (
        scaled(name.format('mae-dec-depth12')).model.neck.decoder_num_layers
        == 3
    )
    assert (
        scaled(name.format('mae-block50')).model.backbone.mask_generator.type
        == 'BlockMaskGenerator'
    )
    # Negative control: a released value without a study value stops.
    with pytest.raises(KeyError, match='has no study value'):
        scale_config(
            str(ABLATIONS / name.format('mae-ratio90')),
            dict(scale, value_maps={'model.neck.decoder_num_layers': {1: 1}}),
        )


def test_bad_study_files_fail_with_the_fix(tmp_path):
    path = tmp_path / 's.py'
    path.write_text(
        "study = dict(name='x', scales=dict(a={}), finetune=dict(config='c'),"
        " runs=[dict(name='r', config='c', scale='b')])\n"
    )
    with pytest.raises(KeyError, match="uses scale 'b'"):
        load_study(str(path))
    path.write_text(
        "study = dict(name='x', scales=dict(a={}), finetune=dict(config='c'),"
        " runs=[dict(name='r', config='c', scale='a')],"
        " baselines=dict(random='nope'))\n"
    )
    with pytest.raises(KeyError, match='must name a run'):
        load_study(str(path))


def test_random_baseline_per_method(tmp_path, monkeypatch):
    """A list of runs under ``random`` reads each method's own encoder
    from random initialisation, one named baseline per run."""
    from mmmim.analysis.study import StudyRunner, baseline_runs

    assert baseline_runs(dict(pixels=True, random='a')) == {
        'baseline_pixels': None,
        'baseline_random': 'a',
    }
    assert baseline_runs(dict(random=['a', 'b'], supervised='a')) == {
        'baseline_random_a': 'a',
        'baseline_random_b': 'b',
        'baseline_supervised': 'a',
    }
    core = (
        REPO
        / 'configs'
        / 'studies'
        / 'mim-ablations-core_vit-mini-p4_fashion-mnist.py'
    )
    study = load_study(str(core))
    runner = StudyRunner(study, str(tmp_path), '/data')
    seen = {}

    def fake_stage(self, run, stage, checkpoint, *args):
        assert checkpoint is None  # untrained
        seen.setdefault(run.name, []).append((stage, run.config))
        return {}

    monkeypatch.setattr(StudyRunner, 'probe', fake_stage)
    monkeypatch.setattr(StudyRunner, 'finetune', fake_stage)
    out = runner.run(['baseline_random_simmim', 'baseline_random_convmae'])
    assert set(out) == {'baseline_random_simmim', 'baseline_random_convmae'}
    assert seen['baseline_random_simmim'] == [
        ('probe', study.run('simmim').config),
        ('finetune', study.run('simmim').config),
    ]
    assert seen['baseline_random_convmae'][0][1] == study.run('convmae').config
    with pytest.raises(KeyError, match='baseline_random_simmim'):
        runner.run(['baseline_random'])
    # The table names each one.
    tool = _load_tool()
    tool.main([str(core), '--work-dir', str(tmp_path), '--report-only'])
    markdown = (tmp_path / 'results.md').read_text()
    assert '| random init (simmim) |' in markdown
    assert '| random init (mae_default) |' in markdown
    # The figure marks a run's own untrained encoder under it.
    from mmmim.analysis.study import write_figures

    def run_row(name, top1):
        return dict(
            dict.fromkeys(('knn', 'linear', 'finetune', 'sec_per_iter')),
            run=name,
            finetune=top1,
            _groups={'method': name} if 'baseline' not in name else {},
        )

    rows = [run_row('simmim', 67.0), run_row('mae', 83.0)]
    plain = write_figures(rows, str(tmp_path / 'plain'))[0]
    marked = write_figures(
        rows + [run_row('baseline_random_simmim', 60.0)],
        str(tmp_path / 'marked'),
    )[0]
    assert Path(plain).read_bytes() != Path(marked).read_bytes()
    # Control: the same rows draw the same figure.
    again = write_figures(rows, str(tmp_path / 'again'))[0]
    assert Path(plain).read_bytes() == Path(again).read_bytes()
    path = tmp_path / 's.py'
    path.write_text(
        "study = dict(name='x', scales=dict(a={}), finetune=dict(config='c'),"
        " runs=[dict(name='r', config='c', scale='a')],"
        " baselines=dict(random=['r', 'nope']))\n"
    )
    with pytest.raises(KeyError, match='or for random a list of runs'):
        load_study(str(path))
    path.write_text(path.read_text().replace("'nope'", "'r'"))
    with pytest.raises(ValueError, match='lists a run twice'):
        load_study(str(path))


def test_split_is_disjoint_and_fixed():
    fit, val = split_validation(100, 20, seed=3)
    assert len(fit) == 80 and len(val) == 20
    assert not set(fit.tolist()) & set(val.tolist())
    assert torch.equal(val, split_validation(100, 20, seed=3)[1])
    with pytest.raises(ValueError):
        split_validation(10, 10)


def test_probes_known_answers():
    """Separable clusters: both probes are perfect; labels shuffled
    against the features (negative control): both are near chance."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(4, 16, generator=g) * 5
    labels = torch.arange(800) % 4
    x = centers[labels] + torch.randn(800, 16, generator=g) * 0.3
    tx, ty, qx, qy = x[:600], labels[:600], x[600:], labels[600:]
    knn = knn_probe(tx, ty, qx, qy, ks=(3, 5), num_val=100)
    lin = linear_probe(tx, ty, qx, qy, num_val=100)
    assert knn.top1 == 100.0 and lin.top1 == 100.0
    assert knn.chosen['k'] in (3, 5) and set(lin.validation) == {
        'wd=0.0001',
        'wd=0.001',
        'wd=0.01',
        'wd=0.1',
    }
    shuffled = ty[torch.randperm(600, generator=g)]
    assert knn_probe(tx, shuffled, qx, qy, ks=(5,), num_val=100).top1 < 40
    assert linear_probe(tx, shuffled, qx, qy, num_val=100).top1 < 40


def test_report_only_on_an_empty_work_dir(tmp_path):
    tool = _load_tool()
    tool.main([str(MAIN_STUDY), '--work-dir', str(tmp_path), '--report-only'])
    with open(tmp_path / 'results.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['run'] for r in rows] == [
        'baseline_pixels',
        'baseline_random',
        'baseline_supervised',
        'mae',
    ]
    assert all(r['knn'] == '' and r['finetune'] == '' for r in rows)
    markdown = (tmp_path / 'results.md').read_text().splitlines()
    assert markdown[2].startswith('| raw pixels |')
    assert len(markdown) == 2 + len(rows)
    # No run is in a figure group yet: no figure is drawn.
    assert not list((tmp_path / 'figures').glob('*.png'))


def test_simmim_and_convmae_scales_keep_their_recipes():
    """The ablation study's SimMIM and ConvMAE runs: the released
    methods' own settings survive, sizes match the MAE runs'."""
    from mmmim.analysis.study import StudyRunner

    study = load_study(
        str(
            REPO
            / 'configs'
            / 'studies'
            / 'mae-ablations_vit-mini-p4_fashion-mnist.py'
        )
    )
    runner = StudyRunner(study, '/unused', '/data')
    simmim = runner.pretrain_config(study.run('simmim'))
    assert simmim.model.backbone.type == 'SimMIMViT'
    assert simmim.model.backbone.rel_pos_bias == 'shared'
    pipeline = {s['type']: s for s in simmim.train_dataloader.dataset.pipeline}
    generator = pipeline['GenerateMask']['mask_generator']
    assert generator['mask_ratio'] == 0.6
    assert generator['mask_patch_size'] == generator['model_patch_size'] == 4
    assert pipeline['mmpretrain.RandomResizedCrop']['crop_ratio_range'] == (
        0.67,
        1.0,
    )
    assert simmim.optim_wrapper.optimizer.betas == (0.9, 0.999)
    assert simmim.optim_wrapper.clip_grad.max_norm == 5.0
    assert simmim.param_scheduler[1].type == 'MultiStepLR'
    assert simmim.param_scheduler[1].begin == 0
    assert simmim.train_cfg.max_epochs == 4
    # Both methods' steps are 20x their released rates per image (MAE
    # 1.5e-4 per 256, SimMIM 1e-4 per 512), so SimMIM's is MAE's / 3.
    mae_lr = runner.pretrain_config(study.run('mae_default'))
    mae_lr = mae_lr.optim_wrapper.optimizer.lr
    assert simmim.optim_wrapper.optimizer.lr == pytest.approx(mae_lr / 3)
    assert mae_lr == pytest.approx(20 * 1.5e-4 * 128 / 256)
    convmae = runner.pretrain_config(study.run('convmae'))
    # Convolution stages at 1/2 and 1/4, transformer on the 7 x 7 grid.
    assert convmae.model.backbone.patch_sizes == (2, 2, 1)
    assert convmae.model.head.patch_size == 4
    assert 'patch_size' not in convmae.model.backbone
    assert convmae.model.neck.num_patches == 49
    assert convmae.train_cfg.max_epochs == 4
    finetune = runner.finetune_config(study.run('convmae'), None)
    assert finetune.model.backbone.type == 'mmmim.ConvViT'
    assert finetune.model.backbone.patch_sizes == (2, 2, 1)
    assert finetune.train_dataloader.dataset.subset_size == 10000
    default = runner.pretrain_config(study.run('mae_default'))
    assert default.model.backbone.arch == simmim.model.backbone.arch


def test_core_ablation_study_is_the_full_studys_headline_runs():
    """The 2-hour core study trains exactly the full ablation study's
    masking-ratio, mask-token, SimMIM and ConvMAE runs (same configs, so
    one work dir serves both); the full study adds the other factors."""
    from mmmim.analysis.study import StudyRunner

    studies = REPO / 'configs' / 'studies'
    core = load_study(
        str(studies / 'mim-ablations-core_vit-mini-p4_fashion-mnist.py')
    )
    full = load_study(
        str(studies / 'mae-ablations_vit-mini-p4_fashion-mnist.py')
    )
    names = [run.name for run in core.runs]
    assert names == [
        'mae_default',
        'ratio25',
        'ratio50',
        'ratio90',
        'enc_mask_token',
        'simmim',
        'convmae',
    ]
    assert names == [run.name for run in full.runs][: len(names)]
    assert len(full.runs) == 17
    core_runner = StudyRunner(core, '/unused', '/data')
    full_runner = StudyRunner(full, '/unused', '/data')
    for name in ('ratio90', 'convmae'):
        assert core_runner.pretrain_config(core.run(name)).to_dict() == (
            full_runner.pretrain_config(full.run(name)).to_dict()
        )
        assert core_runner.probe_settings(core.run(name)) == (
            full_runner.probe_settings(full.run(name))
        )
    # Negative control: two different runs do not compare equal.
    assert core_runner.pretrain_config(core.run('ratio90')).to_dict() != (
        core_runner.pretrain_config(core.run('ratio50')).to_dict()
    )
    ratios = {
        run.name: core_runner.pretrain_config(run).model.backbone.get(
            'mask_generator', {}
        )
        for run in core.runs
        if 'mask_ratio' in run.groups
    }
    assert {n: g.get('mask_ratio') for n, g in ratios.items()} == {
        'mae_default': 0.75,
        'ratio25': 0.25,
        'ratio50': 0.5,
        'ratio90': 0.9,
    }


def test_ablations_pretrain_on_one_fixed_half_of_the_images():
    """Every ablation run (MAE, SimMIM, ConvMAE) pre-trains on the same
    30k images (one subset seed), so runs differ only in what they
    ablate; the main study pre-trains on all 60k."""
    from mmmim.analysis.study import StudyRunner

    full = load_study(
        str(
            REPO
            / 'configs'
            / 'studies'
            / 'mae-ablations_vit-mini-p4_fashion-mnist.py'
        )
    )
    runner = StudyRunner(full, '/unused', '/data')
    subsets = set()
    for run in full.runs:
        dataset = runner.pretrain_config(run).train_dataloader.dataset
        assert dataset.data_root == '/data', run.name
        subsets.add((dataset.subset_size, dataset.get('subset_seed', 0)))
    assert subsets == {(30000, 0)}
    main = load_study(str(MAIN_STUDY))
    main_runner = StudyRunner(main, '/unused', '/data')
    dataset = main_runner.pretrain_config(main.run('mae'))
    dataset = dataset.train_dataloader.dataset
    # Negative control: the main recipe keeps the full training set.
    assert dataset.get('subset_size') is None


def test_each_probe_picks_its_feature_on_validation_only():
    """The probe reads the candidate with the best validation top-1; a
    candidate marked for the kNN only is never read by the linear probe;
    test labels choose nothing (the chosen feature stays the same when
    the test labels are scrambled)."""
    from mmmim.analysis.study import StudyRunner

    study = load_study(str(MAIN_STUDY))
    runner = StudyRunner(study, '/unused', '/data')
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(1000) % 4
    centers = torch.randn(4, 8, generator=g) * 4
    good = centers[labels] + torch.randn(1000, 8, generator=g)
    noise = torch.randn(1000, 8, generator=g)
    candidates = {
        'noise': (noise[:800], noise[800:]),
        'good_knn_only': (good[:800], good[800:]),
    }
    settings = dict(
        num_val=200,
        knn_ks=(5,),
        features=[
            dict(name='noise', pool='avg', out_indices=[-1]),
            dict(
                name='good_knn_only',
                pool='none',
                out_indices=[-1],
                probes=['knn'],
            ),
        ],
    )
    out = runner._probe_both(candidates, labels[:800], labels[800:], settings)
    assert out['knn_detail']['feature'] == 'good_knn_only'
    assert out['knn'] > 90
    assert out['linear_detail']['feature'] == 'noise'
    assert set(out['linear_detail']['validation_by_feature']) == {'noise'}
    scrambled = labels[800:][torch.randperm(200, generator=g)]
    again = runner._probe_both(candidates, labels[:800], scrambled, settings)
    assert again['knn_detail']['feature'] == 'good_knn_only'
    assert again['knn'] < 50
