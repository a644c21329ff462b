"""Framework facts F1–F9: verdicts as measured on Paddle 3.3.1, checks that flip when Paddle behaves otherwise, and
the cache reports read them from."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from paddle_reg import facts
from paddle_reg.report import verdicts

EXPECTED = {"F1": "supported", "F2": "supported", "F3": "refuted", "F4": "supported", "F5": "refuted",
            "F6": "supported", "F7": "supported", "F8": "supported", "F9": "supported", "E3.placement": "supported"}


@pytest.fixture(scope="module")
def results():
    return {r.id: r for r in facts.check_all()}


def test_every_fact_is_checked_with_numbers_and_a_rule(results):
    assert list(results) == list(EXPECTED)
    for result in results.values():
        assert result.verdict in ("supported", "refuted") and result.measured and result.rule and result.statement


@pytest.mark.parametrize("fact", EXPECTED)
def test_verdicts_on_the_installed_paddle(results, fact):
    assert results[fact].verdict == EXPECTED[fact], results[fact].measured


def test_f3_paddle_adam_weight_decay_is_coupled_l2(results):
    measured = results["F3"].measured
    assert measured["paddle_adam_matches"] == "coupled L2" and measured["max_abs_diff_to_decoupled"] > 0.1


def test_f7_paddle_uses_the_tensorflow_momentum_convention(results):
    assert results["F7"].measured["paddle_convention"].startswith("TensorFlow/Keras")


def test_f3_would_be_supported_if_paddle_adam_decoupled(monkeypatch):
    def adamw_steps(weight_decay, steps=3, lr=0.1):
        p0 = np.array([1.0, -2.0, 3.0, -4.0])
        return facts.adam_by_hand(p0, lambda p: np.full_like(p, 0.01), lr, steps, decoupled=weight_decay)

    monkeypatch.setattr(facts, "_adam_steps", adamw_steps)
    assert facts.f3_adam_weight_decay_is_decoupled().verdict == "supported"


def test_e3_placement_would_be_no_identity_for_an_activation_that_does_not_commute(monkeypatch):
    """Sigmoid(m·x/(1−p)) ≠ m·sigmoid(x)/(1−p): the check must then find the placements different."""
    monkeypatch.setattr(paddle.nn, "ReLU", paddle.nn.Sigmoid)
    result = facts.e3_placement_is_an_identity()
    assert result.verdict == "refuted" and result.measured["output_max_abs_diff"] > 0


def test_f1_would_be_refuted_if_dropout_scaled_at_inference(monkeypatch):
    paddle_dropout = paddle.nn.Dropout
    monkeypatch.setattr(paddle.nn, "Dropout", lambda p: paddle_dropout(p, mode="downscale_in_infer"))
    assert facts.f1_dropout_is_inverted().verdict == "refuted"


def test_f5_would_be_supported_for_a_working_snippet(monkeypatch):
    fixed = ("decay_params = [n for n, p in model.named_parameters() if p.ndim > 1]\n"
             "param_groups = [{'params': [p for n, p in model.named_parameters() if n in decay_params]}]\n"
             "optimizer = paddle.optimizer.Adam(parameters=param_groups, learning_rate=0.001)\n")
    monkeypatch.setattr(facts, "ARTICLE_GROUPING", fixed)
    assert facts.f5_article_grouping_snippet().verdict == "supported"


def test_command_prints_the_table_caches_it_and_exits_0(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "paddle_reg.facts"], capture_output=True, text=True, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stderr
    rows = [line.split()[:2] for line in result.stdout.splitlines() if line.partition(" ")[0] in EXPECTED]
    assert rows == [[fact, verdict] for fact, verdict in EXPECTED.items()]
    assert "max_abs_diff_to_coupled_l2" in result.stdout
    (cached,) = (tmp_path / "paddle_reg" / "facts").glob(f"paddle-{paddle.__version__}-*.json")
    assert [(r["id"], r["verdict"]) for r in json.loads(cached.read_text())] == list(EXPECTED.items())


def test_reports_measure_once_then_read_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    measure = facts.check_all
    calls = []
    monkeypatch.setattr(facts, "check_all", lambda: calls.append(1) or measure())
    first, second = verdicts.fact_verdicts(), verdicts.fact_verdicts()  # a run's task report, then its index
    assert len(calls) == 1 and facts.cache_path().is_file()
    assert [f.to_json() for f in first] == [f.to_json() for f in second]
    assert [(f.id, f.verdict) for f in second] == [(k, e) for k, e in EXPECTED.items() if k.startswith("F")]
    assert verdicts.identity("E3.placement").verdict == "supported" and len(calls) == 1  # from the same cache


def test_reports_show_what_the_cache_holds_for_this_paddle_version(monkeypatch, tmp_path, results):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(facts, "check_all", lambda: pytest.fail("measured although the cache holds the results"))
    recorded = [dataclasses.replace(r, verdict="refuted", measured={"marker": 0.25}) if r.id == "F1" else r
                for r in results.values()]
    facts.cache_path().parent.mkdir(parents=True)
    facts.cache_path().write_text(json.dumps([dataclasses.asdict(r) for r in recorded]))
    shown = verdicts.fact_verdicts()
    assert (shown[0].id, shown[0].verdict, shown[0].result.parts[0].evidence) == ("F1", "refuted", "marker = 0.25")
    monkeypatch.setattr(paddle, "__version__", "0.0.0")  # another Paddle: the cache has nothing for it
    monkeypatch.setattr(facts, "check_all", lambda: list(results.values()))
    assert verdicts.fact_verdicts()[0].verdict == "supported"
