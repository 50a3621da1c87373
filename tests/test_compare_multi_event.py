"""compare() on multi-event data: the same subjects and metrics for every model.

References: the package's validated pieces called directly on the same split
(fit_cox_per_event, metrics.median_time, concordance_harrell, concordance_local,
integrated_brier_score, mae_margin; 1e-12); C = 0.5 exactly for a risk that is constant
within an event; the stratification counts round(share x group size) by construction.
"""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge import compare, metrics
from pysurvbridge.data.datasets import rotterdam_multi_event
from pysurvbridge.errors import InvalidParameterError
from pysurvbridge.comparison import MultiEventComparison, compare_multi_event, stratified_split
from pysurvbridge.simulate import simulate_multi_event

MODELS = ["cox-per-event", "multistate-cox", "deepsurv-per-event", "mensa", "earlier-event-first"]


@pytest.fixture(scope="module")
def result():
    """The issue's acceptance run: Rotterdam, every built-in model, three seeds, small epochs (seed 2
    is a split where R's default survfit set-up refused the multi-state fit: a regression check)."""
    return compare("rotterdam-multi", models=MODELS, seeds=3, epochs=2, verbose=False)


def test_every_model_runs_on_every_seed(result):
    assert isinstance(result, MultiEventComparison)
    assert list(result.table["model"]) == MODELS
    assert list(result.table["family"]) == ["classical", "classical", "deep", "deep", "reference"]
    assert (result.table["n_seeds"] == 3).all(), result.notes
    assert "error" not in result.results or result.results["error"].isna().all()
    assert set(result.table["dcal"].str.split("/").str[1]) == {"6"}  # 2 events x 3 seeds
    for col in ("c_global", "c_local", "ibs", "mae_margin", "c_harrell_recurrence", "ibs_death", "dcal_p_death"):
        assert result.table[col].notna().all(), col


def test_per_event_metrics_equal_direct_calls_on_the_same_split(result):
    from pysurvbridge.classical.multistate import fit_cox_per_event

    split = result.split
    tr, te = split.train, split.test
    fit = fit_cox_per_event(tr)
    grid = np.linspace(0.0, tr.times.max(), 201)[1:]
    S = fit.predict_survival(te.X, grid)
    last = result.results[(result.results["model"] == "cox-per-event") & (result.results["seed"] == split.seed)].iloc[0]
    for k, name in enumerate(te.event_names):
        median = metrics.median_time(S[:, k], grid)
        c = metrics.concordance_harrell(-median, te.times[:, k], te.events[:, k])
        assert last[f"c_harrell_{name}"] == pytest.approx(c, abs=1e-12)
        kw = dict(train_time=tr.times[:, k], train_event=tr.events[:, k])
        assert last[f"mae_margin_{name}"] == pytest.approx(
            metrics.mae_margin(median, te.times[:, k], te.events[:, k], **kw), rel=1e-12)
        horizon = min(np.quantile(tr.times[:, k], 0.9), te.times[:, k].max())
        ibs_grid = np.linspace(horizon / 50, horizon, 50)
        ibs = metrics.integrated_brier_score(fit.predict_survival(te.X, ibs_grid)[:, k], ibs_grid,
                                             te.times[:, k], te.events[:, k], **kw)
        assert last[f"ibs_{name}"] == pytest.approx(ibs, rel=1e-12)
    risk = np.column_stack([-metrics.median_time(S[:, k], grid) for k in range(2)])
    assert last["c_local"] == pytest.approx(metrics.concordance_local(risk, te.times, te.events), abs=1e-12)


def test_reference_rule_is_the_local_c_floor(result):
    te = result.split.test
    ref = result.results[(result.results["model"] == "earlier-event-first") & (result.results["seed"] == result.split.seed)].iloc[0]
    assert ref["c_global"] == 0.5  # constant within each event
    floor = metrics.concordance_local(np.tile([1.0, 0.0], (len(te), 1)), te.times, te.events)
    assert ref["c_local"] == pytest.approx(floor, abs=1e-12)
    assert any("local C floor" in n for n in result.notes)
    assert any("crude probability" in n for n in result.notes)


def test_split_is_stratified_on_the_event_pattern():
    data = rotterdam_multi_event()
    pattern = data.event_pattern()
    tr, va, te = stratified_split(pattern, 0.2, 0.1, seed=4)
    assert len(np.intersect1d(tr, te)) == len(np.intersect1d(tr, va)) == len(np.intersect1d(va, te)) == 0
    assert len(tr) + len(va) + len(te) == len(data)
    for value in np.unique(pattern):
        size = (pattern == value).sum()
        assert (pattern[te] == value).sum() == round(0.2 * size)
        assert (pattern[va] == value).sum() == round(0.1 * size)


def test_a_failing_model_is_reported_and_the_others_go_on():
    sim = simulate_multi_event(300, K=2, seed=0)  # no trajectories given: multistate-cox cannot run
    res = compare(sim.data, models=["cox-per-event", "multistate-cox"], epochs=1, verbose=False)
    assert any("multistate-cox failed on seed 0" in n and "one known ordering" in n for n in res.notes)
    assert res.table.set_index("model").loc["cox-per-event", "n_seeds"] == 1


def test_competing_risks_data_use_mensa_in_its_competing_mode():
    res = compare("rotterdam-competing", models=["cox-per-event", "mensa"], epochs=1, verbose=False)
    assert res.runs["mensa"].fitted.mode == "competing"
    assert res.table["c_global"].notna().all()


@pytest.mark.parametrize("kwargs, match", [
    ({"data": "colon"}, "not a recurrent-event data set"),
    ({"validation_size": 0.9}, "must leave training subjects"),
    ({"models": ["mensa-xl"]}, "unknown multi-event model"),
    ({"trajectories": [("relapse", "death")]}, "'relapse', which is not one of"),
    ({"trajectories": [("recurrence", "death"), ("death", "recurrence")]}, "cycle"),
    ({"times": [100.0]}, "not options of the multi-event comparison"),
])
def test_bad_arguments(kwargs, match):
    kwargs = {"data": "rotterdam-multi", "verbose": False, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        compare(**kwargs)


def test_direct_entry_point_takes_a_container():
    sim = simulate_multi_event(200, K=2, seed=1)
    res = compare_multi_event(sim.data, ["cox-per-event"], trajectories=[(0, 1)], verbose=False)
    assert res.split.trajectories == ((0, 1),) and len(res.table) == 1
