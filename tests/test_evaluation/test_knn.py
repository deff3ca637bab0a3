# Copyright (c) mmmim contributors. All rights reserved.
"""The weighted kNN functional and the KNNAccuracy metric, on hand-made
2-d features whose answers are worked out below."""

import math

import pytest
import torch
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import DefaultScope

from mmmim.evaluation import KNNAccuracy
from mmmim.evaluation.functional import (
    topk_accuracy,
    weighted_knn_classify,
    weighted_knn_scores,
    weighted_knn_scores_per_k,
)
from mmmim.registry import METRICS


def on_circle(*degrees: float) -> torch.Tensor:
    """Unit vectors ``[N, 2]``: the cosine of two is that of their angle."""
    rad = torch.tensor([math.radians(d) for d in degrees], dtype=torch.float64)
    return torch.stack([rad.cos(), rad.sin()], dim=1).float()


# Three clusters of three, and one class-1 outlier at 302 degrees, next to
# the class-2 cluster.
BANK = on_circle(0, 10, 20, 120, 130, 140, 240, 250, 260, 302)
BANK_Y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 1])
# k = 3 neighbours (angular distance, label):
#   5:   0 (5, 0), 10 (5, 0), 20 (15, 0)          -> 0, right
#   130: 130 (0, 1), 120, 140 (10, 1)             -> 1, right
#   250: 250 (0, 2), 240, 260 (10, 2)             -> 2, right
#   68:  20 (48, 0), 120 (52, 1), 10 (58, 0)      -> 0 by vote and weight;
#        labelled 1: wrong, but second in rank
#   300: 302 (2, 1), 260 (40, 2), 250 (50, 2)     -> majority says 2, the
#        weights exp(cos / 0.07) say 1 (labelled 1)
QUERY = on_circle(5, 130, 250, 68, 300)
QUERY_Y = torch.tensor([0, 1, 2, 1, 1])


def vote(cos: float, temperature: float) -> float:
    return math.exp(cos / temperature)


def cos_deg(degrees: float) -> float:
    return math.cos(math.radians(degrees))


def test_known_answer_at_t007():
    preds = weighted_knn_classify(BANK, BANK_Y, QUERY, k=3, temperature=0.07)
    assert preds.tolist() == [0, 1, 2, 0, 1]
    scores = weighted_knn_scores(BANK, BANK_Y, QUERY, k=3, temperature=0.07)
    assert topk_accuracy(scores, QUERY_Y, (1, 2)) == {1: 80.0, 2: 100.0}
    # The flipped vote of query 300, by hand: one neighbour of class 1 at
    # 2 degrees against two of class 2 at 40 and 50 degrees.
    w1 = vote(cos_deg(2), 0.07)
    w2 = vote(cos_deg(40), 0.07) + vote(cos_deg(50), 0.07)
    assert w1 > w2  # about 22 times as much
    expected = torch.tensor([0.0, w1, w2]) / (w1 + w2)
    torch.testing.assert_close(scores[4], expected, atol=1e-4, rtol=0)
    assert scores[4, 1].item() == pytest.approx(0.9599, abs=1e-4)
    # Query 68: two class-0 votes at 48 and 58 degrees, one class-1 at 52.
    w0 = vote(cos_deg(48), 0.07) + vote(cos_deg(58), 0.07)
    w1 = vote(cos_deg(52), 0.07)
    torch.testing.assert_close(
        scores[3], torch.tensor([w0, w1, 0.0]) / (w0 + w1), atol=1e-4, rtol=0
    )
    torch.testing.assert_close(scores.sum(1), torch.ones(5))


def test_high_temperature_is_a_majority_vote():
    """At T = 100 every weight is about 1: query 300 goes to the two
    class-2 neighbours, and the accuracy drops from 80 to 60."""
    preds = weighted_knn_classify(BANK, BANK_Y, QUERY, k=3, temperature=100)
    assert preds.tolist() == [0, 1, 2, 0, 2]
    scores = weighted_knn_scores(BANK, BANK_Y, QUERY, k=3, temperature=100)
    assert topk_accuracy(scores, QUERY_Y, (1, 2)) == {1: 60.0, 2: 100.0}
    torch.testing.assert_close(
        scores[4], torch.tensor([0.0, 1 / 3, 2 / 3]), atol=2e-3, rtol=0
    )


def test_k1_is_the_nearest_neighbour_and_k_bank_size_is_allowed():
    preds = weighted_knn_classify(BANK, BANK_Y, QUERY, k=1)
    assert preds.tolist() == [0, 1, 2, 0, 1]
    # k = N: every bank sample votes; query 5 still sees class 0 closest.
    scores = weighted_knn_scores(BANK, BANK_Y, QUERY, k=len(BANK))
    assert (scores > 0).all()
    assert scores[0].argmax().item() == 0


def test_features_are_normalised_inside():
    scaled = BANK * torch.tensor([[3.0], [0.5]] * 5)
    torch.testing.assert_close(
        weighted_knn_scores(scaled, BANK_Y, QUERY * 7, k=3),
        weighted_knn_scores(BANK, BANK_Y, QUERY, k=3),
    )


def test_tied_classes_go_to_the_smaller_index():
    # Both neighbours at cosine 0.8 exactly: equal votes.
    bank = torch.tensor([[0.6, 0.8], [-0.6, 0.8]])
    query = torch.tensor([[0.0, 1.0]])
    for labels in ([1, 0], [0, 1], [2, 1]):
        labels = torch.tensor(labels)
        pred = weighted_knn_classify(bank, labels, query, k=2)
        assert pred.item() == min(labels.tolist())
        scores = weighted_knn_scores(bank, labels, query, k=2)
        # The rank of topk_accuracy breaks the tie the same way.
        top1 = topk_accuracy(scores, labels.max()[None], (1, 2))
        assert top1 == {1: 0.0, 2: 100.0}


def test_chunking_does_not_change_the_result():
    gen = torch.Generator().manual_seed(0)
    bank = torch.randn(300, 16, generator=gen)
    labels = torch.randint(0, 7, (300,), generator=gen)
    queries = torch.randn(101, 16, generator=gen)
    whole = weighted_knn_scores(bank, labels, queries, k=20, chunk_size=101)
    for chunk_size in (1, 7, 64, 1000):
        chunked = weighted_knn_scores(
            bank, labels, queries, k=20, chunk_size=chunk_size
        )
        assert torch.equal(chunked.argmax(1), whole.argmax(1)), chunk_size
        torch.testing.assert_close(chunked, whole, atol=1e-6, rtol=0)
    assert torch.equal(
        weighted_knn_classify(bank, labels, queries, chunk_size=3),
        whole.argmax(1),
    )


def _votes_by_hand(bank, labels, queries, k, temperature):
    """One query at a time: sort all similarities, sum exp(cos / T)."""
    bank = bank / bank.norm(dim=1, keepdim=True)
    out = torch.zeros(len(queries), int(labels.max()) + 1)
    for row, query in enumerate(queries):
        sim = bank @ (query / query.norm())
        order = sim.argsort(descending=True)[:k]
        for idx in order:
            out[row, labels[idx]] += math.exp(float(sim[idx]) / temperature)
        out[row] /= out[row].sum()
    return out


def test_one_pass_for_several_k_matches_each_k():
    gen = torch.Generator().manual_seed(1)
    bank = torch.randn(200, 12, generator=gen)
    labels = torch.randint(0, 5, (200,), generator=gen)
    queries = torch.randn(37, 12, generator=gen)
    ks = (1, 5, 20, 50)
    per_k = weighted_knn_scores_per_k(
        bank, labels, queries, ks, temperature=0.5, chunk_size=8
    )
    assert set(per_k) == set(ks)
    for k in ks:
        torch.testing.assert_close(
            per_k[k],
            _votes_by_hand(bank, labels, queries, k, 0.5),
            atol=1e-5,
            rtol=0,
        )
    # Negative control: the neighbour count changes the predictions.
    assert not torch.equal(per_k[1].argmax(1), per_k[50].argmax(1))
    # A k listed twice votes once: the same scores, rows summing to 1.
    repeated = weighted_knn_scores_per_k(
        bank, labels, queries, (20, 5, 20), temperature=0.5
    )
    assert set(repeated) == {5, 20}
    torch.testing.assert_close(repeated[20], per_k[20], atol=1e-6, rtol=0)
    torch.testing.assert_close(
        repeated[5].sum(1), torch.ones(len(queries)), atol=1e-6, rtol=0
    )
    with pytest.raises(ValueError, match='ks is empty'):
        weighted_knn_scores_per_k(bank, labels, queries, ())
    with pytest.raises(ValueError, match='k must be in'):
        weighted_knn_scores_per_k(bank, labels, queries, (5, 201))


def test_huge_weights_stay_finite():
    # exp(1 / 0.001) overflows any float; the votes are taken relative to
    # the best neighbour, so the nearest one simply wins.
    scores = weighted_knn_scores(BANK, BANK_Y, QUERY, k=3, temperature=1e-3)
    assert torch.isfinite(scores).all()
    assert scores.argmax(1).tolist() == [0, 1, 2, 0, 1]


def test_num_classes_and_topk_beyond_it():
    scores = weighted_knn_scores(BANK, BANK_Y, QUERY, k=3, num_classes=5)
    assert scores.shape == (5, 5) and (scores[:, 3:] == 0).all()
    assert topk_accuracy(scores, QUERY_Y, (1, 5, 9)) == {
        1: 80.0,
        5: 100.0,
        9: 100.0,
    }
    # A query label the bank never had can't be predicted: wrong.
    assert topk_accuracy(scores[:1], torch.tensor([7]), (1, 5)) == {
        1: 0.0,
        5: 0.0,
    }


@pytest.mark.parametrize(
    'bank, labels, query, kwargs, match',
    [
        (torch.zeros(0, 2), torch.zeros(0).long(), QUERY, {}, 'empty'),
        (BANK, BANK_Y[:-1], QUERY, {}, 'bank_labels must be'),
        (BANK, BANK_Y, torch.zeros(2, 3), {}, '2-d but query'),
        (BANK[0], BANK_Y, QUERY, {}, r'\[N, D\]'),
        (BANK, BANK_Y.float(), QUERY, {}, 'integer'),
        (BANK, BANK_Y, QUERY, dict(k=11), r'k must be in \[1, bank size'),
        (BANK, BANK_Y, QUERY, dict(k=0), 'k must be'),
        (BANK, BANK_Y, QUERY, dict(k=3, temperature=0.0), 'temperature'),
        (BANK, BANK_Y - 1, QUERY, dict(k=3), 'must lie in'),
        (BANK, BANK_Y, QUERY, dict(k=3, num_classes=2), 'must lie in'),
        (BANK, BANK_Y, QUERY, dict(k=3, chunk_size=0), 'chunk_size'),
    ],
)
def test_bad_inputs_raise(bank, labels, query, kwargs, match):
    with pytest.raises(ValueError, match=match):
        weighted_knn_classify(bank, labels, query, **kwargs)


def test_topk_accuracy_bad_inputs():
    scores = torch.rand(3, 4)
    with pytest.raises(ValueError, match='labels'):
        topk_accuracy(scores, torch.zeros(2).long())
    with pytest.raises(ValueError, match='no queries'):
        topk_accuracy(torch.zeros(0, 4), torch.zeros(0).long())
    with pytest.raises(ValueError, match='>= 1'):
        topk_accuracy(scores, torch.zeros(3).long(), (0,))


# The metric.


def samples(feats, labels, split, first_idx=0):
    return [
        dict(feat=f, gt_label=torch.tensor([y]), split=split, sample_idx=i)
        for i, (f, y) in enumerate(zip(feats, labels.tolist()), first_idx)
    ]


@pytest.mark.parametrize('name', ['KNNAccuracy', 'mmmim.KNNAccuracy'])
def test_registered_metric_gives_the_same_numbers(name):
    with DefaultScope.overwrite_default_scope('mmmim'):
        metric = METRICS.build(dict(type=name, k=3, topk=(1, 2)))
    assert isinstance(metric, KNNAccuracy)
    metric.process(None, samples(BANK, BANK_Y, 'bank'))
    metric.process(None, samples(QUERY, QUERY_Y, 'query'))
    assert metric.evaluate(15) == {'knn/top1': 80.0, 'knn/top2': 100.0}
    assert metric.results == []  # reset for the next evaluation


def test_metric_resolves_from_the_mmengine_root_and_has_defaults():
    metric = MMENGINE_METRICS.build(dict(type='mmmim.KNNAccuracy'))
    assert (metric.k, metric.temperature, metric.topk) == (20, 0.07, (1, 5))
    assert metric.prefix == 'knn'


def test_metric_temperature_and_topk_beyond_classes():
    metric = KNNAccuracy(k=3, temperature=100, topk=(1, 5), prefix='maj')
    metric.process(None, samples(BANK, BANK_Y, 'bank'))
    metric.process(None, samples(QUERY, QUERY_Y, 'query'))
    # Three classes: top-5 is always 100 and left out.
    assert metric.evaluate(15) == {'maj/top1': 60.0}


def test_metric_drops_padding_repeats():
    """A distributed sampler repeats samples to fill the last batch; each
    (split, sample_idx) must vote and be scored once."""
    metric = KNNAccuracy(k=3, topk=(1,))
    bank = samples(BANK, BANK_Y, 'bank')
    query = samples(QUERY, QUERY_Y, 'query')
    # Repeat the wrong query (68) and the outlier of the bank: counted
    # twice, top-1 would be 4/6 and query 300 would have two class-1 votes.
    metric.process(None, bank + bank[-1:] + query + query[3:4])
    assert metric.evaluate(17) == {'knn/top1': 80.0}


def test_metric_errors():
    with pytest.raises(ValueError, match='topk'):
        KNNAccuracy(topk=(0, 1))
    metric = KNNAccuracy(k=3)
    with pytest.raises(ValueError, match='split'):
        metric.process(None, [dict(feat=BANK[0], gt_label=0, split='val')])
    metric.process(None, samples(BANK, BANK_Y, 'bank'))
    with pytest.raises(ValueError, match='no query'):
        metric.evaluate(10)
    metric = KNNAccuracy(k=3)
    metric.process(None, samples(QUERY, QUERY_Y, 'query'))
    with pytest.raises(ValueError, match='bank is empty'):
        metric.evaluate(5)
