"""Every outcome of the verdict rules on hand-made intervals, each edge case, and the claims' evaluators on small runs."""
from __future__ import annotations

import json

import numpy as np

import pytest

from paddle_reg.report import verdicts as v
from paddle_reg.report.collect import RunRecord, report_metrics, summarize
from paddle_reg.report.compare import PAIRED, WELCH, Comparison, paired
from paddle_reg.report.evidence import Evidence


def ci(low95: float, high95: float, low90: float | None = None, high90: float | None = None, n: int = 3,
       analysis: str = PAIRED) -> Comparison:
    """A comparison with given intervals (the 90 % one 0.8 of the 95 % one's width unless given)."""
    mid, half = (low95 + high95) / 2, (high95 - low95) / 2
    low90 = mid - 0.8 * half if low90 is None else low90
    high90 = mid + 0.8 * half if high90 is None else high90
    return Comparison(analysis, mid, n, n, low95, high95, low90, high90, 0.05, half / 4.3, n - 1, ((half / 2.5) ** 2,))


HIGHER = v.Margin("higher", 1.0, "test")
LOWER = v.Margin("lower", 1.0, "test")


@pytest.mark.parametrize("c,verdict,why", [
    (ci(1.5, 3.0), v.SUPPORTED, "95 % CI beyond δ"),  # the whole 95 % CI above +δ
    (ci(0.5, 3.0), v.INCONCLUSIVE, "both sides of δ"),  # above 0 but reaching below δ: the old rule's "supported"
    (ci(-0.7, 0.8, -0.5, 0.6), v.REFUTED, "equivalence within ±δ (TOST)"),
    (ci(-3.5, -1.2, -3.0, -1.5), v.REFUTED, "the opposite effect"),
    (ci(-3.5, 0.8, -3.0, 0.5), v.REFUTED, "an effect of δ excluded"),  # not equivalent, yet +δ is excluded
    (ci(0.01, 100.0), v.INCONCLUSIVE, "both sides of δ"),  # the issue's [0.01, 100]: not "supported about +6"
])
def test_claimed_effect(c, verdict, why):
    assert HIGHER.judge(c)[0] == verdict and why in HIGHER.judge(c)[1]


def test_claimed_decrease_mirrors_the_increase():
    assert LOWER.judge(ci(-3.0, -1.5))[0] == v.SUPPORTED
    assert LOWER.judge(ci(-0.8, 0.7, -0.6, 0.5))[0] == v.REFUTED
    assert LOWER.judge(ci(-3.0, -0.5))[0] == v.INCONCLUSIVE
    # the E12 case, Δ = +0.015 pp: refuted no longer for being 0.015 pp worse, but for showing no gain of δ
    tiny = ci(0.0000378, 0.03, 0.003, 0.027)
    assert v.Margin("lower", 0.2, "").judge(tiny) == (v.REFUTED, "90 % CI short of δ: equivalence within ±δ (TOST)")


@pytest.mark.parametrize("c,verdict", [
    (ci(3.5, 8.5, 4.0, 8.0), v.SUPPORTED),  # 90 % CI inside [3, 9]
    (ci(-5.82, 3.34), v.INCONCLUSIVE),  # E1's Welch CI reaches into the band
    (ci(-5.82, 2.9), v.REFUTED),  # 95 % CI below the band
    (ci(9.5, 12.0), v.REFUTED),  # above it
    (ci(2.0, 8.0, 2.5, 7.5), v.INCONCLUSIVE),  # the 90 % CI pokes out of the band
])
def test_about_a_claimed_size(c, verdict):
    assert v.Margin("about", 3.0, "test", about=6.0).judge(c)[0] == verdict


@pytest.mark.parametrize("c,verdict", [(ci(-0.15, 0.18, -0.1, 0.15), v.SUPPORTED), (ci(0.3, 0.9), v.REFUTED),
                                       (ci(-0.185, 0.125, -0.15, 0.09), v.SUPPORTED),
                                       (ci(-0.1, 0.5), v.INCONCLUSIVE)])
def test_no_effect_is_equivalence(c, verdict):
    assert v.Margin("none", 0.2, "test").judge(c)[0] == verdict


def test_fewer_than_three_runs_is_not_measured():
    assert HIGHER.judge(ci(5.0, 9.0, n=2)) == (v.NOT_MEASURED, "not measured (n = 2 pairs; 3 needed)")
    welch = Comparison(WELCH, 5.0, 3, 2, 4.0, 6.0, 4.5, 5.5, 0.01)
    assert HIGHER.judge(welch) == (v.NOT_MEASURED, "not measured (n = 3 vs 2 runs; 3 needed)")


def test_zero_spread_is_an_exact_statement_judged_on_delta():
    same = paired([0.0, 0.0, 0.0])
    assert v.describe(same, " pp") == "identical in all 3 seeds" and v.short(same) == "identical in all 3 seeds"
    assert HIGHER.judge(same) == (v.REFUTED, "exact Δ short of δ")
    assert v.Margin("none", 0.2, "").judge(same) == (v.SUPPORTED, "exact Δ inside the band")
    shifted = paired([2.0, 2.0, 2.0])
    assert HIGHER.judge(shifted) == (v.SUPPORTED, "exact Δ beyond δ")
    assert v.describe(shifted, " pp") == "Δ = +2 pp in every one of the 3 seeds (no spread)"
    on_the_edge = paired([1.0, 1.0, 1.0])  # Δ = δ exactly: inside the ±δ band, so not beyond δ
    assert HIGHER.judge(on_the_edge) == (v.REFUTED, "exact Δ short of δ")
    assert v.Margin("none", 1.0, "").judge(on_the_edge) == (v.SUPPORTED, "exact Δ inside the band")


def test_inconclusive_parts_state_power():
    c = paired([0.1, 0.9, 2.0])  # sd 0.954, SE 0.551: detectable (4.3027 + 1.0607)·0.551 = 2.95
    part = v.judged("s", HIGHER, c, " pp")
    assert part.verdict == v.INCONCLUSIVE
    # seeds for δ = 1: sd·(t₀.₉₇₅ + t₀.₈₀)/√n is 0.954·1.065 = 1.016 at n = 9, 0.954·0.995 = 0.949 at n = 10
    assert part.power == "detectable at 80 % power with n = 3: ±3 pp; an effect of δ = 1 pp would take 10 seeds per arm"
    assert v.judged("s", HIGHER, paired([3.0, 3.2, 3.1]), " pp").power == ""  # supported: no power line


def test_combine():
    part = lambda verdict: v.Part("s", verdict, "e")  # noqa: E731
    assert v.combine([part(v.SUPPORTED), part(v.SUPPORTED)]) == v.SUPPORTED
    assert v.combine([part(v.SUPPORTED), part(v.REFUTED), part(v.INCONCLUSIVE)]) == v.REFUTED
    assert v.combine([part(v.SUPPORTED), part(v.INCONCLUSIVE)]) == v.INCONCLUSIVE
    assert v.combine([part(v.SUPPORTED), part(v.NOT_MEASURED)]) == v.INCONCLUSIVE  # an unmeasured part keeps it open
    assert v.combine([part(v.NOT_MEASURED)]) == v.combine([]) == v.NOT_MEASURED


def test_agreement_and_shared_runs():
    assert v.agreement(v.SUPPORTED, v.SUPPORTED) == "agrees"
    assert v.agreement(v.SUPPORTED, v.REFUTED) == "disagrees"
    assert v.agreement(v.INCONCLUSIVE, v.SUPPORTED) == "supported here, inconclusive at the primary"
    assert v.agreement(v.NOT_MEASURED, v.SUPPORTED) == "primary not measured"
    assert v.shared_runs({"a", "b"}, {"a", "b"}).startswith("the same runs as the primary")
    assert v.shared_runs({"a", "b"}, {"b", "c"}) == "shares 1 of its 2 runs with the primary"
    assert v.shared_runs({"a"}, {"c"}) == "independent runs"


def test_margins_read_claims_yaml_per_task():
    e11 = v.margins(v.claim("E11"), "news")["narrower"]
    assert (e11.claimed, e11.delta) == ("lower", 0.5) and e11.reason
    e3 = v.margins(v.claim("E3"), "mnist")
    assert e3["placement"].identity == "E3.placement" and e3["output"].claimed == "higher"
    assert isinstance(v.margins(v.claim("E15"), "pcb")["miou"], str)  # a part no run measures: why
    assert v.margins(v.claim("E4"), "mnist")["fails"].convergence
    for entry in v.claims()["experiment_claims"]:  # every part has its δ and the reason for it
        for name, spec in (entry.get("parts") or {}).items():
            assert "not_measured" in spec or (spec["delta"] and spec["reason"]), (entry["id"], name)


# --- the evaluators on small runs ----------------------------------------------------------------------------------

def record(arm: str, seed: int, test_error: float, train_error: float = 0.0, status: str = "finished",
           val_error: float | None = None, last: float | None = None, best_epoch: int = 5, **config) -> RunRecord:
    final = {} if status != "finished" else {
        "test_error": test_error, "train_error": train_error, "val_error": test_error if val_error is None else val_error,
        "last_test_error": test_error if last is None else last, "best_epoch": best_epoch, "epochs_run": 10}
    if status == "diverged":
        final = {"diverged_epoch": 4}
    model = {"hidden": [8], "dropout": {"hidden": config.pop("p", 0.5)}}
    return RunRecord(regime=arm, seed=seed, status=status, path=f"runs/mnist/{arm}/seed{seed}-abc", info={},
                     history=[], final=final, run_config={"task": "mnist", "regime": arm, "seed": seed, "model": model,
                                                          "data": {}, **config})


def evidence(records: list[RunRecord], place: str = "claims/ex") -> Evidence:
    return Evidence("mnist", place, summarize(records), report_metrics("mnist"), "cmd", f"reports/{place}/report.html")


def e(claim_id: str, ev: Evidence) -> v.ClaimResult:
    return v.EVALUATORS[claim_id](ev, v.margins(v.claim(claim_id), ev.task))


BASE = [record("none", s, 0.05 + 0.001 * s, p=0.0) for s in range(3)]


def test_e4_diverged_runs_are_failures_to_converge_and_listed():
    failing = [record("p=0.9", s, 0.60 + 0.01 * s, p=0.9) for s in range(3)]
    learning = [record("p=0.9", s, 0.06 + 0.001 * s, p=0.9) for s in range(3)]
    assert e("E4", evidence(BASE + failing)).verdict == v.SUPPORTED  # d = 55, 55.9, 56.8 pp: CI [+53.7, +58.1]
    assert e("E4", evidence(BASE + learning)).verdict == v.REFUTED  # Δ = +1 pp, far short of +10
    # seed 2 diverges: it counts at 100 % error, d = 15, 14.9, 94.8 pp → 95 % CI [−73, +156]: undecided, and listed
    diverging = [record("p=0.9", s, 0.20, p=0.9) for s in (0, 1)] + [record("p=0.9", 2, 0, status="diverged", p=0.9)]
    result = e("E4", evidence(BASE + diverging))
    part = result.parts[0]
    assert part.comparison["n"] == 3 and part.comparison["diff"] == pytest.approx((15 + 14.9 + 94.8) / 3, abs=0.01)
    assert part.unfinished == ["p=0.9 seed 2: diverged at epoch 4"]
    assert "1 diverged run(s) of p=0.9 counted as failures at 100 %" in part.evidence
    assert result.verdict == v.INCONCLUSIVE and part.power
    arm, metric = evidence(diverging).arm("p=0.9"), report_metrics("mnist")[0]
    assert v.counted(arm, metric, v.Margin("higher", 10.0, "", convergence=False)) == ({0: 20.0, 1: 20.0}, "")
    assert e("E4", evidence(BASE)) is None  # no p > 0.7 arm


def test_e5_selects_the_useful_lambda_on_validation_not_test():
    arms = []
    for s in range(3):  # λ=1e-4 is best on test, λ=1e-3 on validation: validation picks
        arms.append(record("λ=1e-4", s, 0.040 + 0.001 * s, val_error=0.060, optim={"weight_decay": 1e-4}))
        arms.append(record("λ=1e-3", s, 0.045 + 0.001 * s, val_error=0.050, optim={"weight_decay": 1e-3}))
        arms.append(record("λ=1e-6", s, 0.0501 + 0.001 * s, optim={"weight_decay": 1e-6}))
    base = [record("none", s, 0.05 + 0.001 * s, p=0.0, optim={"weight_decay": 0.0}) for s in range(3)]
    result = e("E5", evidence(base + arms))
    statements = {p.statement.split(":")[0].split(" (")[0]: p for p in result.parts}
    assert "best λ in 1e-5..1e-3 on validation" in statements
    assert "(λ=1e-3, validation error 5 %)" in statements["best λ in 1e-5..1e-3 on validation"].statement
    assert statements["best λ in 1e-5..1e-3 on validation"].verdict == v.SUPPORTED  # −0.5 pp in every seed
    assert statements["λ=1e-6"].verdict == v.SUPPORTED  # +0.01 pp in every seed: inside ±0.2


def test_e3_placement_is_decided_by_the_identity_and_the_runs_shown_beside(monkeypatch):
    runs = [record(arm, s, 0.05 + 0.003 * s) for arm in ("after_relu", "before_relu") for s in range(3)]
    runs += [record("input_and_hidden", s, 0.06 + 0.003 * s) for s in range(3)]
    holds = v.identity("E3.placement")
    assert holds.verdict == v.SUPPORTED and holds.measured["output_max_abs_diff"] == 0.0
    result = e("E3", evidence(runs))
    placement, inputs, output = result.parts
    assert placement.verdict == v.REFUTED and "exact framework check" in placement.why
    assert "identical in all 3 seeds" in placement.evidence
    assert inputs.verdict == v.SUPPORTED  # +1 pp in every seed, beyond +0.2
    assert output.verdict == v.NOT_MEASURED and result.verdict == v.REFUTED
    # were Paddle's Dropout not to commute with ReLU, the runs would decide the part
    monkeypatch.setattr(v, "identity", lambda name: holds.__class__(**{**vars(holds), "verdict": v.REFUTED}))
    assert e("E3", evidence(runs)).parts[0].why == "exact Δ short of δ"


def test_e11_and_e12_at_an_experiment_and_in_a_grid():
    base = [record("none", s, 0.05 + 0.002 * s, 0.0, last=0.06 + 0.002 * s) for s in range(3)]
    dropout = [record("dropout", s, 0.03 + 0.002 * s, 0.02) for s in range(3)]
    assert e("E11", evidence(base + dropout)).verdict == v.SUPPORTED  # gap −4 pp in every seed
    grid = e("E12", evidence(base + dropout, place="mnist"))  # none's best checkpoint − its last epoch: −1 pp
    assert grid.verdict == v.SUPPORTED and "none's best-validation checkpoint" in grid.parts[0].statement
    assert grid.parts[0].runs == [f"mnist/none/seed{s}-abc" for s in range(3)]  # none's runs only, not pooled
    stopped = [record("early_stop", s, 0.0501 + 0.002 * s, p=0.0) for s in range(3)]
    experiment = e("E12", evidence(base + stopped))  # early_stop's selection − none's last epoch = −0.99 pp
    assert experiment.verdict == v.SUPPORTED and "early_stop's selected checkpoint" in experiment.parts[0].statement


def test_e9_pairs_unit_failure_drops_by_seed():
    def probed(arm, seed, clean, failed):
        r = record(arm, seed, 0.05)
        r.probes = {"unit_failure": {"fractions": [0.0, 0.5], "accuracy": [clean, failed]}}
        return r

    runs = [probed("none", s, 0.95, 0.50 + 0.01 * s) for s in range(3)] + \
           [probed("dropout", s, 0.95, 0.90 + 0.01 * s) for s in range(3)]
    ev = evidence(runs)
    assert v.unit_failure_drops(ev.arm("none"))[0.5] == pytest.approx({0: 45.0, 1: 44.0, 2: 43.0})
    part = e("E9", ev).parts[0]
    assert part.verdict == v.SUPPORTED and part.comparison["analysis"] == PAIRED and "−40" in part.short.replace("-", "−")


def test_judge_gives_one_verdict_from_the_primary_and_marks_shared_runs():
    dropout = [record("dropout", s, 0.03 + 0.002 * s, 0.02) for s in range(3)]
    base = [record("none", s, 0.05 + 0.002 * s, 0.0) for s in range(3)]
    places = {"claims/e11": evidence(base + dropout, "claims/e11"), "mnist": evidence(base + dropout, "mnist")}
    judged = v.judge(v.claim("E11"), places, None)
    assert judged.verdict == v.SUPPORTED and judged.result.place == "claims/e11"
    (rep,) = judged.replications  # news and pcb never ran: no row for them
    assert (rep.result.place, rep.agreement) == ("mnist", "agrees") and rep.shared.startswith("the same runs")
    never = v.judge(v.claim("E15"), {}, None)
    assert never.verdict == v.NOT_MEASURED and "never run" in never.result.reason
    assert never.result.command == "python -m paddle_reg.run experiment=e15"
    assert v.judge(v.claim("E6"), {}, None).verdict == v.NOT_MEASURED
    assert v.judge(v.claim("E16"), {}, None).verdict == v.OUT_OF_SCOPE
    everything = v.judge_all({}, None)
    assert [j.id for j in everything] == [f"E{i}" for i in range(1, 17)] + [f"F{i}" for i in range(1, 10)]
    assert v.INCONCLUSIVE not in {j.verdict for j in everything}  # nothing measured is never "inconclusive"


def test_a_place_with_two_runs_a_side_is_not_measured():
    runs = [record("none", s, 0.05) for s in range(2)] + [record("dropout", s, 0.03, 0.02) for s in range(2)]
    result = e("E11", evidence(runs))
    assert result.verdict == v.NOT_MEASURED and result.parts[0].why == "not measured (n = 2 pairs; 3 needed)"


def cost_record(plain: dict[str, list[float]], suite_ratio: float = 1.05) -> dict:
    arms = lambda ratios: {name: {"ratios": r, "seconds": []} for name, r in ratios.items()}  # noqa: E731
    return {"rounds": 4, "command": "python benchmarks/regularization_cost.py",
            "machine": {"cpu": "test CPU", "cpu_count": 2, "load_average": [0.1, 0.1, 0.1],
                        "calibration_steps_per_s": 200.0, "git_commit": "abc"},
            "paddle": {"arms": arms(plain)},
            "suite": {"arms": arms({name: [suite_ratio] * 4 for name in ("dropout", "weight_decay", "both")})}}


def test_e8_is_judged_from_the_benchmark_record_and_missing_record_says_how_to_make_it(tmp_path):
    entry = v.claim("E8")
    missing = v.benchmark_claim(entry, tmp_path)
    assert missing.verdict == v.NOT_MEASURED and missing.command == "python benchmarks/regularization_cost.py"
    claimed = {"both": [1.14, 1.15, 1.16, 1.15], "dropout": [1.01, 0.99, 1.0, 1.02],
               "weight_decay": [1.0, 1.005, 0.998, 1.001], "weight_decay_adamw": [1.0] * 4}
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "regularization_cost.json").write_text(json.dumps(cost_record(claimed)))
    result = v.benchmark_claim(entry, tmp_path)
    assert result.verdict == v.SUPPORTED and result.measured_in == "benchmarks/regularization_cost.json"
    assert result.place == "benchmarks/regularization_cost" and result.href == "benchmarks/regularization_cost.json"
    assert "the suite's Trainer: Δ = +5 % in every one of the 4 rounds (no spread)" in result.parts[0].evidence
    assert result.parts[0].comparison["analysis"] == "paired by round"
    costly = {**claimed, "weight_decay": [1.36, 1.38, 1.37, 1.39]}
    parts = {p.statement.split()[0]: p.verdict for p in v.e8(cost_record(costly), "x").parts}
    assert parts == {"both": v.SUPPORTED, "dropout": v.SUPPORTED, "weight_decay": v.REFUTED}


def test_not_higher_is_the_converse_of_a_claimed_increase():
    not_higher = v.Margin("not_higher", 1.0, "test")
    assert not_higher.judge(ci(-0.7, 0.8, -0.5, 0.6))[0] == v.SUPPORTED  # an increase of δ excluded
    assert not_higher.judge(ci(-3.0, -1.5))[0] == v.SUPPORTED  # a decrease is no increase
    assert not_higher.judge(ci(1.5, 3.0))[0] == v.REFUTED
    assert not_higher.judge(ci(0.5, 3.0))[0] == v.INCONCLUSIVE
    assert not_higher.test(" pp") == "Δ < +1 pp"


def test_best_setting_is_the_parabolas_vertex_in_log_space_and_flags_the_sweeps_ends():
    points = [(10.0 ** x, (x + 3.7) ** 2) for x in (-6, -5, -4, -3, -2)]  # an exact parabola, minimum at 10^-3.7
    best, edge = v.best_setting(points)
    assert best == pytest.approx(10 ** -3.7) and not edge
    assert v.best_setting([(1e-5, 0.1), (1e-4, 0.2), (1e-3, 0.3)]) == (1e-5, True)
    assert v.best_setting([(1e-5, 0.3), (1e-4, 0.1), (1e-3, 0.1)]) == (pytest.approx(10 ** -3.5), True)  # a tie
    ties = [(1e-5, 0.3), (1e-4, 0.1), (1e-3, 0.1), (1e-2, 0.1), (1e-1, 0.2)]
    assert v.best_setting(ties) == (pytest.approx(1e-3), False)


def coupling_grid(exponent: dict[str, float], seeds: int = 4) -> list[RunRecord]:
    """λ* = 1e-3·(lr/1e-3)^exponent[mode]: validation error rises with (log10 λ − log10 λ*)², plus seed noise."""
    records = []
    for seed in range(seeds):
        for lr in (3e-4, 1e-3, 3e-3, 1e-2):
            records.append(record(f"lr={lr:g} λ=0", seed, 0.08, optim={"lr": lr, "weight_decay": 0.0,
                                                                         "decay_mode": "l2"}))
            for mode, k in exponent.items():
                best = -3 + k * (np.log10(lr) + 3)
                for x in np.arange(-6.0, 0.5, 0.5):
                    error = 0.05 + 0.01 * (x - best) ** 2 + 0.0005 * ((seed * 7 + int(4 * x)) % 3)
                    records.append(record(f"{mode} lr={lr:g} λ={10 ** x:g}", seed, error,
                                          optim={"lr": lr, "weight_decay": float(10 ** x), "decay_mode": mode}))
    return records


def test_e6_finds_the_slope_of_the_best_decay_on_lr_per_mode():
    result = e("E6", evidence(coupling_grid({"l2": 1.0, "decoupled": -1.0})))
    coupled, decoupled = result.parts
    assert coupled.statement.startswith("coupled L2") and coupled.verdict == v.SUPPORTED
    assert decoupled.statement.startswith("decoupled") and decoupled.verdict == v.REFUTED  # the opposite effect
    assert "0 of 16 optima at an end" in coupled.evidence and result.verdict == v.REFUTED
    coupling = v.decay_coupling(evidence(coupling_grid({"l2": 1.0})), "coupled")
    assert list(coupling.slopes.values()) == pytest.approx([1.0] * 4, abs=0.1)
    assert coupling.mean_val[(1e-3, 0.0)] == pytest.approx(8.0)  # the λ = 0 column, in %
    one_lr = [r for r in coupling_grid({"l2": 1.0}) if r.run_config["optim"]["lr"] == 1e-3]
    assert e("E6", evidence(one_lr)) is None


def test_e6_counts_a_diverged_run_as_the_worst_and_flags_optima_at_the_sweeps_end():
    records = coupling_grid({"l2": 3.0})  # at the largest lr the optimum lies beyond the sweep
    assert v.decay_coupling(evidence(records), "coupled").at_edge >= 4
    records = [record(r.group, r.seed, 0, status="diverged", optim=r.run_config["optim"])
               if r.group == "l2 lr=0.01 λ=1" else r for r in records]
    assert v.decay_coupling(evidence(records), "coupled").best[0][1e-2] < 1.0


SMOOTH = [0.10, 0.06, 0.04, 0.03, 0.025]
JAGGED = [0.10, 0.04, 0.08, 0.03, 0.07]


def curve_record(arm: str, seed: int, curve: list[float], status: str = "finished") -> RunRecord:
    r = record(arm, seed, curve[-1], status=status, val_error=min(curve),
               model={"channels": [4], "norm": "none" if arm == "dropout" else "bn"})
    r.history = [{"epoch": i + 1, "val_error": x, "epoch_time_s": 1.0} for i, x in enumerate(curve)]
    return r


def e7_runs(combination: list[float], singles: list[float] = SMOOTH, status: str = "finished") -> Evidence:
    records = []
    for s in range(4):
        records += [curve_record(arm, s, [x + 0.001 * s for x in singles]) for arm in ("bn", "dropout")]
        records += [curve_record(arm, s, [x + 0.001 * s for x in combination], status if s < 2 else "finished")
                    for arm in ("bn_dropout", "dropout_bn")]
    return evidence(records)


def test_e7_rough_or_diverging_combinations_are_unstable():
    rough = e("E7", e7_runs(JAGGED))
    assert rough.verdict == v.SUPPORTED and len(rough.parts) == 4
    assert rough.parts[0].statement.startswith("BN → Dropout (bn_dropout) − bn, roughness")
    assert "diverged runs 0 vs 0" in rough.parts[0].evidence and "seed std" in rough.parts[0].evidence
    assert e("E7", e7_runs(SMOOTH, singles=JAGGED)).verdict == v.REFUTED  # the combinations are the smooth ones
    diverging = e("E7", e7_runs([x + 0.0002 for x in SMOOTH], status="diverged"))  # 2 of 4 seeds diverge
    assert diverging.verdict == v.SUPPORTED and "diverged in more seeds" in diverging.parts[-1].statement
    assert e("E7", evidence([curve_record("bn", 0, SMOOTH)])) is None


def test_e13_bn_degrades_at_small_batches_and_gn_ln_do_not():
    def runs(bn_small_error):
        return evidence([record(f"{norm} b={batch}", s, (bn_small_error if norm == "bn" and batch < 8 else 0.020)
                                + 0.0005 * s * (batch % 3), model={"norm": norm}, train={"batch_size": batch})
                         for norm in ("bn", "gn", "ln") for batch in (2, 4, 8, 16, 64) for s in range(4)])

    result = e("E13", runs(0.05))
    assert result.verdict == v.SUPPORTED and len(result.parts) == 6
    assert result.parts[0].statement.startswith("bn at batch 2 − at batch 64")
    assert [p.test for p in result.parts] == ["Δ ≥ +0.5 pp"] * 2 + ["Δ < +0.5 pp"] * 4
    assert e("E13", runs(0.0201)).verdict == v.REFUTED  # bn barely moves: no degradation of δ


def test_e14_linear_drop_path_against_none_and_constant_paired_by_seed():
    def runs(linear):
        records = []
        for s in range(4):
            base = 0.05 + 0.01 * s  # seeds differ a lot; the pairing removes it
            records += [record("none", s, base, reg={}),
                        record("constant p=0.2", s, base - 0.002, reg={"droppath": {"p": 0.2, "schedule": "constant"}}),
                        record("linear p=0.2", s, base + linear + 0.0001 * s,
                               reg={"droppath": {"p": 0.2, "schedule": "linear"}})]
        return evidence(records)

    result = e("E14", runs(-0.006))
    assert result.verdict == v.SUPPORTED and result.parts[1].comparison["analysis"] == PAIRED
    assert [p.statement.split(",")[0] for p in result.parts] == ["linear p_L=0.2 − none", "linear − constant at p_L=0.2"]
    assert e("E14", runs(+0.004)).verdict == v.REFUTED


def test_e3_judges_output_layer_dropout_against_hidden_only():
    runs = [record(arm, s, 0.05 + 0.003 * s) for arm in ("after_relu", "before_relu") for s in range(3)]
    runs += [record("hidden_and_output", s, 0.06 + 0.003 * s + 0.0001 * s * s) for s in range(3)]
    output = e("E3", evidence(runs)).parts[-1]
    assert output.statement.startswith("hidden_and_output − after_relu") and output.verdict == v.SUPPORTED
