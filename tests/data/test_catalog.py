"""The data-set catalogue: one place that compare(), the CLI and the R door ask.

References: the loaders the catalogue wraps, called directly (the same containers, identical
arrays); SUPPORT's per-split preparation against the preprocessor fitted directly on the same
training rows is in tests/test_compare_support.py.
"""
from __future__ import annotations

import numpy as np
import pytest

from pysurvbridge import rhost
from pysurvbridge.cli import main
from pysurvbridge.data import catalog, datasets
from pysurvbridge.data.events import MultiEventData, SurvivalData
from pysurvbridge.data.recurrent import RecurrentData
from pysurvbridge.errors import InvalidParameterError

KINDS = {"recurrent": RecurrentData, "single": SurvivalData, "multi-event": MultiEventData}


def test_every_name_in_one_place():
    assert catalog.names() == ["bladder1", "bladder", "cgd", "rotterdam", "support", "surv-digits", "lesions",
                               "rotterdam-multi", "rotterdam-competing"]
    assert catalog.names("multi-event") == ["rotterdam-multi", "rotterdam-competing"]
    assert rhost.dataset_names() == catalog.names()


@pytest.mark.parametrize("name", ["bladder1", "bladder", "cgd", "rotterdam", "rotterdam-multi", "rotterdam-competing"])
def test_entries_load_the_container_of_their_kind(name):
    item = catalog.entry(name)
    data = item.load()
    assert isinstance(data, KINDS[item.kind])


def test_entries_equal_the_loaders_they_wrap():
    direct = datasets.prepared("bladder1")
    assert catalog.load("bladder1").frame.equals(direct.frame)
    paper = catalog.entry("bladder1").paper_inputs()
    assert "recur" in paper.covariates and list(paper.ids) == list(direct.ids)
    multi = catalog.load("rotterdam-multi")
    np.testing.assert_array_equal(multi.times, datasets.rotterdam_multi_event().times)
    assert catalog.entry("rotterdam-multi").trajectories == (("recurrence", "death"),)
    assert catalog.entry("rotterdam-competing").competing
    assert catalog.entry("support").prepare_split is not None and "training subjects only" in \
        catalog.entry("support").split_note


def test_unknown_names_list_the_known_ones():
    with pytest.raises(InvalidParameterError, match=r"unknown data set 'colon'; the catalogue has \['bladder1'"):
        catalog.entry("colon")
    with pytest.raises(InvalidParameterError, match="unknown data set 'colon'"):
        rhost.compare_from_r("colon", ["cox"], None)
    with pytest.raises(InvalidParameterError, match="kind must be one of"):
        catalog.names("images")


def test_a_new_data_set_is_one_add(capsys):
    sim = SurvivalData.from_arrays(np.arange(1.0, 41.0), np.tile([1, 0], 20), np.linspace(0, 1, 40)[:, None], ["x"])
    catalog.add(catalog.CatalogEntry("toy", "single", "40 subjects", lambda: sim))
    try:
        assert main(["compare", "toy", "--models", "cox", "--seeds", "1", "--quiet", "--no-crosscheck"]) == 0
        assert "| cox | classical |" in capsys.readouterr().out
    finally:
        catalog.CATALOG.pop("toy")
