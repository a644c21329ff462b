"""Learning curves: the planner's arms × sizes × seeds, the step budget (train.steps), a training subset per seed
(data.resample_with_seed) in every task, the curve verdicts on hand-made numbers (the claims' comparison and rules,
never a copy of them), and a tiny curve to its report."""
from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, compose_config, run_cli
from hydra import compose, initialize_config_module
from markupsafe import escape
from omegaconf import OmegaConf
from pcb_files import make_pcb_root
from report_fixtures import epoch_history, fixture_run

from paddle_reg.errors import UserError
from paddle_reg.grid import effective_run_config
from paddle_reg.optim import build_optimizer
from paddle_reg.report import compare as cmp
from paddle_reg.report.curves import EQUIVALENT, HELPS, HURTS, Point, judge, readings, sentences, write_curve_report
from paddle_reg.report.verdicts import INCONCLUSIVE, NOT_MEASURED, SUPPORTED, Margin
from paddle_reg.run import plan_command
from paddle_reg.runtime import seed_everything
from paddle_reg.store import RunDir
from paddle_reg.task_registry import get_task
from paddle_reg.tasks.mnist import MnistTask
from paddle_reg.tasks.pcb_data import board_groups
from paddle_reg.trainer import Trainer, train_settings

CURVES = sorted(p.stem for p in (REPO / "configs" / "experiment").glob("curve_*.yaml"))


def plan_of(runs: Path, *overrides: str):
    overrides = [*overrides, f"paths.runs_dir={runs}"]
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
        return cfg, plan_command(cfg, overrides, runs)


# --- the planner ------------------------------------------------------------------------------------------------

def test_there_is_a_curve_experiment_per_task():
    assert CURVES == ["curve_mnist", "curve_news", "curve_pcb"]


@pytest.mark.parametrize("name", CURVES)
def test_a_curve_plans_every_arm_at_every_size_and_seed_with_one_step_budget(name, tmp_path):
    cfg, plan = plan_of(tmp_path, f"experiment={name}")
    curve = plan.curve
    assert curve.arms == ["none", "dropout", "weight_decay", "both"]
    assert len(curve.sizes) >= 4 and len(cfg.seeds) >= (5 if name == "curve_mnist" else 3)
    steps = np.diff(np.log(curve.sizes))
    assert steps.max() / steps.min() < 1.3  # log-spaced
    assert plan.report_dir == Path("reports") / "curves" / cfg.curve.name
    assert len(plan.specs) == len(curve.arms) * len(curve.sizes) * len(cfg.seeds)
    assert len({str(spec.run_dir.path) for spec in plan.specs}) == len(plan.specs)
    assert [spec.config["seed"] for spec in plan.specs] == sorted(spec.config["seed"] for spec in plan.specs)
    for spec in plan.specs:
        arm, size = curve.points[spec.arm]
        assert spec.arm == f"{arm}@{size}" and spec.config["regime"] == arm
        assert spec.config["data"]["train_size"] == size and spec.config["data"]["resample_with_seed"] is True
        settings = train_settings(OmegaConf.create(spec.config))
        assert settings.steps == cfg.train.steps and settings.steps_per_epoch(size) * settings.epochs == cfg.train.steps


@pytest.mark.parametrize("override,message", [
    ("curve.sizes=[]", r"curve.sizes=\[\] must be distinct positive training-set sizes"),
    ("curve.sizes=[500,500]", r"curve.sizes=\[500, 500\] must be distinct"),
    ("curve.delta=0", "curve.delta=0 must be > 0"),
    ("curve.metric=speed", "curve.metric=speed is not a report metric of task mnist"),
    ("train.steps=3001", "train.steps=3001 must be a multiple of train.epochs=15 .*train.steps=3000"),
    ("train.steps=0", "train.steps=0 must be a positive integer"),
    ("data.resample_with_seed=maybe", "data.resample_with_seed=maybe must be true or false"),
])
def test_bad_curve_settings_stop_with_one_line(override, message, tmp_path):
    with pytest.raises(UserError, match=message):
        plan_of(tmp_path, "experiment=curve_mnist", override)


def test_existing_runs_keep_their_config_without_the_new_keys():
    run = effective_run_config(compose_config("task=news", "regime=none"), 0)
    assert "resample_with_seed" not in run["data"] and "steps" not in run["train"]
    run = effective_run_config(compose_config("task=news", "regime=none", "data.resample_with_seed=true",
                                              "train.steps=100"), 0)
    assert run["data"]["resample_with_seed"] is True and run["train"]["steps"] == 100


# --- the step budget --------------------------------------------------------------------------------------------

class Interrupted(Exception):
    pass


class StopsAfter(MnistTask):
    """MNIST whose batch stream breaks off after ``batches`` batches: a run killed in the middle of an epoch."""

    def __init__(self, batches: int):
        self.left = batches

    def train_batches(self, split, batch_size, rng):
        for batch in super().train_batches(split, batch_size, rng):
            if self.left == 0:
                raise Interrupted
            self.left -= 1
            yield batch


def fit(task, run_dir: Path, mnist_root: Path, *overrides: str) -> dict:
    cfg = OmegaConf.create(effective_run_config(compose_config(
        "task=mnist", "profile=smoke", "regime=dropout", "data.val_size=200", "model.hidden=[16]", *overrides), 0))
    data = task.load_data(cfg, mnist_root)
    seed_everything(0)
    model = task.build_model(cfg, data)
    settings = train_settings(cfg)
    optimizer, scheduler, _ = build_optimizer(model, cfg.optim, settings.steps_per_epoch(len(data.train)),
                                              settings.epochs)
    return Trainer(task, model, optimizer, scheduler, RunDir(run_dir), settings).fit(data)


def timeless(run_dir: Path, final: dict) -> dict:
    history = [{k: v for k, v in h.items() if not k.endswith("time_s")} for h in RunDir(run_dir).history()]
    return {"final": final, "history": history}


def test_a_budget_of_whole_passes_trains_exactly_as_epochs_do(mnist_root, tmp_path):
    # 320 images, batch 32: 10 steps a pass
    by_epochs = fit(MnistTask(), tmp_path / "epochs", mnist_root, "data.train_size=320", "train.epochs=3")
    by_steps = fit(MnistTask(), tmp_path / "steps", mnist_root, "data.train_size=320", "train.epochs=3",
                   "train.steps=30")
    assert timeless(tmp_path / "steps", by_steps) == timeless(tmp_path / "epochs", by_epochs)


def test_a_budget_run_stopped_mid_pass_resumes_to_the_same_result(mnist_root, tmp_path):
    # 10 steps a pass, 3 epochs of 7 steps: epochs start mid-pass (steps 7 and 14) and the budget ends inside pass 3
    budget = ("data.train_size=320", "train.epochs=3", "train.steps=21")
    with pytest.raises(Interrupted):
        fit(StopsAfter(10), tmp_path / "resumed", mnist_root, *budget)  # in epoch 2, after epoch 1's checkpoint
    assert len(RunDir(tmp_path / "resumed").history()) == 1
    resumed = fit(MnistTask(), tmp_path / "resumed", mnist_root, *budget)
    assert RunDir(tmp_path / "resumed").info()["resumes"] == [1]
    straight = fit(MnistTask(), tmp_path / "straight", mnist_root, *budget)
    assert timeless(tmp_path / "resumed", resumed) == timeless(tmp_path / "straight", straight)
    assert resumed["epochs_run"] == 3


# --- a training subset per seed ---------------------------------------------------------------------------------

def fingerprint(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def load(task: str, root: Path, seed: int, *overrides: str):
    cfg = OmegaConf.create(effective_run_config(compose_config(f"task={task}", "profile=smoke", "regime=none",
                                                               *overrides), seed))
    return get_task(task).load_data(cfg, root)


def test_mnist_resamples_a_stratified_training_subset_per_seed(mnist_root):
    first, again, other = (load("mnist", mnist_root, seed, "data.val_size=200", "data.train_size=300",
                                "data.resample_with_seed=true") for seed in (0, 0, 1))
    assert fingerprint(first.train.inputs) == fingerprint(again.train.inputs) != fingerprint(other.train.inputs)
    assert np.bincount(first.train.labels).tolist() == np.bincount(other.train.labels).tolist() == [30] * 10
    assert fingerprint(first.val.inputs) == fingerprint(other.val.inputs)  # validation and test stay
    assert fingerprint(first.test.inputs) == fingerprint(other.test.inputs)
    assert not {row.tobytes() for row in other.train.inputs} & {row.tobytes() for row in other.val.inputs}
    fixed = [load("mnist", mnist_root, seed, "data.val_size=200", "data.train_size=300") for seed in (0, 1)]
    assert fingerprint(fixed[0].train.inputs) == fingerprint(fixed[1].train.inputs)  # without it: one subset


def test_news_resamples_a_stratified_training_subset_per_seed_with_its_own_vocabulary(news_root, tmp_path):
    settings = ("data.train_size=300", "data.val_size=150", "data.test_size=null", f"paths.cache_dir={tmp_path}")
    first, again, other = (load("news", news_root, seed, *settings, "data.resample_with_seed=true")
                           for seed in (0, 0, 1))
    assert fingerprint(first.train.inputs) == fingerprint(again.train.inputs) != fingerprint(other.train.inputs)
    assert np.bincount(first.train.labels).tolist() == np.bincount(other.train.labels).tolist() == [100] * 3
    assert fingerprint(first.val.labels) == fingerprint(other.val.labels) and first.vocab != other.vocab
    fixed = [load("news", news_root, seed, *settings) for seed in (0, 1)]
    assert fingerprint(fixed[0].train.inputs) == fingerprint(fixed[1].train.inputs)
    assert len(list(tmp_path.glob("news/*/vocab-*.json"))) == 3  # seed 0, seed 1, and the shared subset


def test_pcb_resamples_training_pairs_per_seed_stratified_by_board_group(tmp_path):
    root = make_pcb_root(tmp_path / "data", trainval=24, test=2, groups=3)
    settings = ("data.val_size=6", "data.train_size=9", "data.test_size=2")
    first, again, other = (load("pcb", root, seed, *settings, "data.resample_with_seed=true") for seed in (0, 0, 1))
    names = lambda data: data.train.split.names  # noqa: E731
    assert names(first) == names(again) != names(other) and len(names(other)) == 9
    assert first.val.names == other.val.names and not set(names(other)) & set(other.val.names)
    rest = load("pcb", root, 0, "data.val_size=6", "data.train_size=null", "data.test_size=2").train.split.names
    for data in (first, other):
        groups, counts = np.unique(board_groups(names(data)), return_counts=True)
        share = {g: 9 * n / len(rest) for g, n in zip(*np.unique(board_groups(rest), return_counts=True))}
        assert all(abs(count - share[g]) < 1 for g, count in zip(groups, counts))
    fixed = [load("pcb", root, seed, *settings) for seed in (0, 1)]
    assert names(fixed[0]) == names(fixed[1]) == rest[:9]  # without it: the first pairs in list order


# --- the verdicts, on numbers worked out by hand ----------------------------------------------------------------

def by_seed(values) -> dict[int, float]:
    return dict(enumerate(values))


def paired(arm, none) -> cmp.Comparison:
    return cmp.compare(by_seed(arm), by_seed(none), cmp.PAIRED)


def test_a_clear_paired_improvement_helps_when_lower_is_better_and_hurts_when_higher_is():
    # d = −2.0, −2.2, −1.8, −2.1, −1.9: mean −2, sd √(0.1 / 4) = 0.15811, se 0.070711; t(0.975, 4) = 2.776445
    c = paired([10.0, 9.8, 10.2, 9.9, 10.1], [12.0] * 5)
    half = 2.776445 * math.sqrt(0.1 / 4) / math.sqrt(5)
    assert (c.diff, c.low, c.high, c.n) == pytest.approx((-2.0, -2.0 - half, -2.0 + half, 5))
    assert judge(c, 0.2, "lower") == (HELPS, "95 % CI beyond δ on the claimed side")
    assert judge(c, 0.2, "higher")[0] == HURTS


def test_a_tiny_effect_inside_delta_is_equivalent_by_tost_even_when_it_differs_from_zero():
    # d = 0.10, 0.12, 0.08, 0.11, 0.09: mean 0.1, sd 0.015811, se 0.0070711; t(0.95, 4) = 2.131847
    c = paired([1.10, 1.12, 1.08, 1.11, 1.09], [1.0] * 5)
    half90 = 2.131847 * 0.015811388 / math.sqrt(5)
    assert (c.low90, c.high90) == pytest.approx((0.1 - half90, 0.1 + half90), rel=1e-5)
    assert c.low > 0  # the 95 % interval excludes 0, but the whole 90 % interval lies inside ±δ
    assert judge(c, 0.2, "lower") == (EQUIVALENT, "90 % CI inside the band (TOST)")


def test_a_change_beyond_zero_but_not_beyond_delta_is_inconclusive():
    # d = 0.2, 0.3, 0.4: mean 0.3 > δ, se 0.1/√3; 95 % [0.3 ∓ 4.302653·se] = [+0.052, +0.548] excludes 0 but not δ;
    # 90 % [0.3 ∓ 2.919986·se] = [+0.131, +0.469] reaches past +δ: no reading is supported
    c = paired([1.2, 1.3, 1.4], [1.0] * 3)
    se = 0.1 / math.sqrt(3)
    assert (c.low, c.low90, c.high90) == pytest.approx((0.3 - 4.302653 * se, 0.3 - 2.919986 * se, 0.3 + 2.919986 * se))
    assert judge(c, 0.2, "lower")[0] == INCONCLUSIVE
    # what these seeds detect: (t(0.975, 2) + t(0.80, 2))·se = (4.302653 + 1.060660)·se
    assert c.detectable == pytest.approx(5.363313 * se)


def test_fewer_than_three_pairs_are_not_measured_whatever_the_interval_says():
    # d = −2, −2.1: an interval far beyond δ, from 2 seeds
    c = paired([10.0, 9.9], [12.0, 12.0])
    assert c.has_ci and c.high < -0.2
    assert judge(c, 0.2, "lower") == (NOT_MEASURED, "not measured (n = 2 pairs; 3 needed)")
    single = cmp.compare({0: 1.0, 1: 2.0}, {0: 3.0}, cmp.PAIRED)  # seed 1 has no `none` to pair with
    assert (single.n, single.low, judge(single, 0.2, "lower")[0]) == (1, None, NOT_MEASURED)


def test_the_same_shift_at_every_seed_is_decided_exactly_on_that_shift():
    shifted = paired([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert shifted.identical and not shifted.has_ci
    assert judge(shifted, 0.2, "lower") == (HURTS, "exact Δ beyond δ")
    assert judge(paired([1.1, 2.1, 3.1], [1.0, 2.0, 3.0]), 0.2, "lower") == (EQUIVALENT, "exact Δ inside the band")
    assert judge(paired([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), 0.2, "lower")[0] == EQUIVALENT


SHARED_FIELDS = ("diff", "low", "high", "low90", "high90", "p_value", "se", "detectable")
SAME_NUMBERS = {  # arm, none (seed → value) and the curve's verdict with δ = 0.2, lower is better
    "helps": ({0: 10.0, 1: 9.8, 2: 10.2}, {0: 12.0, 1: 12.1, 2: 11.9}, HELPS),
    "hurts": ({0: 14.0, 1: 13.8, 2: 14.2}, {0: 12.0, 1: 12.1, 2: 11.9}, HURTS),
    "equivalent": ({0: 12.01, 1: 12.11, 2: 11.92}, {0: 12.0, 1: 12.1, 2: 11.9}, EQUIVALENT),
    "inconclusive": ({0: 11.0, 1: 13.0, 2: 12.5}, {0: 12.0, 1: 12.1, 2: 11.9}, INCONCLUSIVE),
    "welch": ({0: 10.0, 1: 9.8, 2: 10.2, 3: 10.1}, {0: 12.0, 1: 12.1, 2: 11.9}, HELPS),
    "identical": ({0: 12.0, 1: 12.1, 2: 11.9}, {0: 12.0, 1: 12.1, 2: 11.9}, EQUIVALENT),
    "two seeds": ({0: 10.0, 1: 9.8}, {0: 12.0, 1: 12.1}, NOT_MEASURED),
}


@pytest.mark.parametrize("case", SAME_NUMBERS)
@pytest.mark.parametrize("better", ["lower", "higher"])
def test_a_curve_point_is_judged_as_a_claim_part_with_the_same_delta(case, better):
    arm, none, expected = SAME_NUMBERS[case]
    c = cmp.compare(arm, none, cmp.WELCH if case == "welch" else cmp.PAIRED)
    verdict, _ = judge(c, 0.2, better)
    if better == "higher":
        expected = {HELPS: HURTS, HURTS: HELPS}.get(expected, expected)
    assert verdict == expected
    worse = "higher" if better == "lower" else "lower"
    claims = {HELPS: Margin(better, 0.2, "δ"), HURTS: Margin(worse, 0.2, "δ"), EQUIVALENT: Margin("none", 0.2, "δ")}
    assert {k: (m.claimed, m.delta) for k, m in readings(0.2, better).items()} == \
        {k: (m.claimed, m.delta) for k, m in claims.items()}
    for reading, margin in claims.items():  # the claim part "arm − none: lower by δ" (…) has the curve's verdict
        assert (margin.judge(c)[0] == SUPPORTED) == (verdict == reading)
        assert (margin.judge(c)[0] == NOT_MEASURED) == (verdict == NOT_MEASURED)


def test_a_curve_metric_needs_a_better_side():
    with pytest.raises(ValueError, match="needs a better side"):
        judge(paired([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]), 0.2, "")


def test_sentences_say_where_each_arm_helps_hurts_is_equivalent_or_was_not_measured():
    def at(size: int, decided: str | None, pairs: int = 3) -> Point:
        comparison = cmp.paired([0.1 * i for i in range(pairs)]) if decided else None
        return Point("dropout", size, 1.0, 0.1, 3, 0.9, 1.1, 3, comparison=comparison, verdict=decided)

    points = {"none": {500: at(500, None), 5000: at(5000, None)},
              "dropout": {500: at(500, HELPS), 2400: at(2400, HELPS), 11500: at(11500, INCONCLUSIVE),
                          55000: at(55000, EQUIVALENT)},
              "both": {500: at(500, HURTS), 2400: at(2400, NOT_MEASURED, pairs=2), 55000: at(55000, NOT_MEASURED, 0)}}
    assert sentences(points, ["none", "dropout", "both"], 0.2, "pp") == [
        "dropout helps at 500 and 2,400, is inconclusive at 11,500 and is equivalent to none (within ±0.2 pp) at "
        "55,000 training samples.",
        "both hurts at 500 and is not measured at 2,400 (n = 2) and 55,000 (n = 0) training samples."]


def curve_report(tmp_path: Path, errors: dict, history=None) -> tuple[Path, dict]:
    """A curve report of none and dropout (δ = 0.2 pp) from fixture runs: (arm, size) → each seed's test error, None
    for a failed run; ``history(size, seed, error)`` gives a run's epochs (default: three)."""
    runs, points, labels = tmp_path / "runs", {}, {}
    for (arm, size), values in errors.items():
        points[f"{arm}@{size}"] = (arm, size)
        for seed, error in enumerate(values):
            run = fixture_run(runs, arm, seed, error or 0.0, (error or 0.0) / 2, "failed" if error is None else
                              "finished", extra_config={"data": {"train_size": size}},
                              history=history(size, seed, error) if history else None)
            labels[str(run.path)] = f"{arm}@{size}"
    out = write_curve_report([RunDir(Path(p)) for p in labels], tmp_path / "report", "mnist", "python -m ...", "curve",
                             labels, points, ["none", "dropout"], delta=0.2)
    return out, json.loads((out.parent / "summary.json").read_text())


def test_a_curve_report_from_hand_made_runs_says_where_dropout_pays_off_and_where_none_had_not_converged(tmp_path):
    # test errors (fractions): at 100 images dropout − none = −5, −5.5, −4.5 pp (95 % interval −5 ± 4.303·0.5/√3);
    # at 1,000 it is +0.01, +0.01, −0.01 pp (90 % interval 0.0033 ± 2.920·0.01155/√3, inside ±0.2)
    errors = {("none", 100): [0.20, 0.21, 0.19], ("dropout", 100): [0.15, 0.155, 0.145],
              ("none", 1000): [0.05, 0.051, 0.049], ("dropout", 1000): [0.0501, 0.0511, 0.0489]}

    def history(size: int, seed: int, error: float) -> list[dict]:
        end = error + 0.01 * seed
        return epoch_history(list(np.linspace(0.5, end, 8) if size == 100 else [0.3, 0.1, 0.06] + [end] * 5))

    out, summary = curve_report(tmp_path, errors, history)
    assert summary["sentences"] == ["dropout helps at 100 and is equivalent to none (within ±0.2 pp) at 1,000 "
                                    "training samples."]
    at_100 = summary["points"]["dropout"]["100"]
    assert (at_100["comparison"]["diff"], at_100["comparison"]["low"]) == pytest.approx(
        (-5.0, -5.0 - 4.302653 * 0.5 / math.sqrt(3)))
    for size, verdict in ((100, HELPS), (1000, EQUIVALENT)):  # the same numbers through report/compare.py
        shared = cmp.compare(by_seed(100 * np.array(errors[("dropout", size)])),
                             by_seed(100 * np.array(errors[("none", size)])), cmp.PAIRED)
        found = summary["points"]["dropout"][str(size)]
        assert found["comparison"]["analysis"] == cmp.PAIRED and found["verdict"] == verdict
        assert [found["comparison"][k] for k in SHARED_FIELDS] == pytest.approx(
            [getattr(shared, k) for k in SHARED_FIELDS])
        assert (found["verdict"], found["why"]) == judge(shared, 0.2, "lower")
    assert summary["baseline_warning"].startswith("At 100 training samples the none arm was still improving")
    assert summary["regimes"]["none@100"]["diagnosis"]["convergence"]["status"] == "still improving"
    assert summary["regimes"]["none@1000"]["diagnosis"]["convergence"]["status"] == "converged"
    assert summary["regimes"]["dropout@1000"]["stats"]["test_error"]["n"] == 3
    html = out.read_text()
    assert summary["baseline_warning"] in html and "still improving · " in html


def test_a_curve_report_states_the_shared_edge_cases_in_its_table(tmp_path):
    # test errors (fractions); seed 2 of dropout@100 failed; dropout@800 ran a fourth seed that none did not
    errors = {("none", 100): [0.20, 0.21, 0.19], ("dropout", 100): [0.15, 0.155, None],
              ("none", 200): [0.10, 0.11, 0.09], ("dropout", 200): [0.10, 0.11, 0.09],
              ("none", 400): [0.05, 0.06, 0.04], ("dropout", 400): [0.04, 0.07, 0.05],
              ("none", 800): [0.03, 0.031, 0.029], ("dropout", 800): [0.02, 0.021, 0.019, 0.02]}
    out, summary = curve_report(tmp_path, errors)
    assert summary["sentences"] == ["dropout is not measured at 100 (n = 2), is equivalent to none (within ±0.2 pp) "
                                    "at 200, is inconclusive at 400 and helps at 800 training samples."]
    found = summary["points"]["dropout"]
    assert (found["100"]["verdict"], found["100"]["why"]) == (NOT_MEASURED, "not measured (n = 2 pairs; 3 needed)")
    assert found["200"]["comparison"]["identical"] and found["200"]["evidence"] == "identical in all 3 seeds"
    assert found["200"]["why"] == "exact Δ inside the band"
    # d = −1, +1, +1 pp: sd 2/√3, se 2/3; detectable (t(0.975, 2) + t(0.80, 2))·se = 5.363313·2/3 = 3.58 pp
    assert found["400"]["verdict"] == INCONCLUSIVE and found["400"]["comparison"]["detectable"] == pytest.approx(
        5.363313 * 2 / 3)
    assert found["400"]["power"].startswith("detectable at 80 % power with n = 3: ±3.6 pp; an effect of δ = 0.2 pp")
    welch = cmp.welch([2.0, 2.1, 1.9, 2.0], [3.0, 3.1, 2.9])  # the seeds differ: Welch, as compare.design says
    assert found["800"]["comparison"]["analysis"] == cmp.WELCH and found["800"]["verdict"] == HELPS
    assert [found["800"]["comparison"][k] for k in SHARED_FIELDS] == pytest.approx(
        [getattr(welch, k) for k in SHARED_FIELDS])
    assert found["400"]["comparison"]["welch"]["analysis"] == cmp.WELCH  # beside a paired comparison
    html = out.read_text()
    for shown in ("not measured (n = 2 pairs; 3 needed)", "identical in all 3 seeds", found["400"]["power"],
                  "n = 4 vs 3 (Welch)", "n = 3 (paired by seed)", 'class="verdict not-measured"',
                  str(escape(cmp.DESIGN_RULE))):
        assert shown in html


def test_a_curve_report_says_its_step_budget_is_a_cap_when_runs_may_stop_early(tmp_path):
    runs, points, labels = tmp_path / "runs", {}, {}
    train = {"steps": 1000, "batch_size": 64, "epochs": 10, "patience": 5}
    for arm in ("none", "dropout"):
        points[f"{arm}@100"] = (arm, 100)
        for seed in range(3):
            run = fixture_run(runs, arm, seed, 0.2, 0.1, stopped_early=(arm, seed) == ("none", 0),
                              extra_config={"data": {"train_size": 100}, "train": train})
            labels[str(run.path)] = f"{arm}@100"
    out = write_curve_report([RunDir(Path(p)) for p in labels], tmp_path / "report", "mnist", "python -m ...", "curve",
                             labels, points, ["none", "dropout"], delta=0.2)
    assert ("up to 1,000 optimizer steps at every size (batch 64), validated 10 times; a run stops after 5 "
            "validations without progress (1 of 6 finished runs did);") in out.read_text()


# --- a whole curve, tiny --------------------------------------------------------------------------------------

def test_a_tiny_curve_trains_every_point_reports_it_and_resumes(mnist_root, tmp_path):
    args = ["experiment=curve_mnist", "profile=smoke", "data.val_size=200", "model.hidden=[32]", "jobs=1",
            "regimes=[none,dropout]", "seeds=[0,1]", "curve.sizes=[100,640]", "train.steps=12", "train.epochs=3"]
    result = run_cli(args, tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    assert "2 arms × 2 training-set sizes × 2 seeds" in result.stdout + result.stderr
    out = tmp_path / "reports" / "curves" / "mnist"
    assert {p.name for p in out.iterdir()} == {"report.html", "report.pdf", "runs.csv", "summary.json"}
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sizes"] == [100, 640] and summary["arms"] == ["none", "dropout"] and summary["steps"] == 12
    for size in ("100", "640"):
        assert summary["points"]["none"][size]["n"] == 2 and summary["points"]["none"][size]["comparison"] is None
        dropout = summary["points"]["dropout"][size]  # two seeds: measured, but below the rules' three
        assert dropout["comparison"]["n"] == 2 and dropout["why"] == "not measured (n = 2 pairs; 3 needed)"
    assert summary["sentences"] == ["dropout is not measured at 100 (n = 2) and 640 (n = 2) training samples."]
    html = (out / "report.html").read_text()
    assert "When regularization pays off" in html and "data:image/png;base64," in html and "δ = 0.2 pp" in html
    with (out / "runs.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["arm"], r["size"], r["seed"]) for r in rows) == sorted(
        (arm, size, seed) for arm in ("none", "dropout") for size in ("100", "640") for seed in ("0", "1"))
    # the same 12 steps at 100 images (3 a pass) and at 640 (20 a pass): the cosine schedule is where 4, 8, 12 steps are
    expected = [1e-3 * 0.5 * (1 + math.cos(math.pi * step / 12)) for step in (4, 8, 12)]
    for run in (tmp_path / "runs" / "mnist").glob("*/*/history.json"):
        assert [h["lr"] for h in json.loads(run.read_text())] == pytest.approx(expected, abs=1e-12)
    assert set(summary["regimes"]) == {f"{arm}@{size}" for arm in ("none", "dropout") for size in (100, 640)}
    assert all(point["diagnosis"]["tag"] for point in summary["regimes"].values())
    assert "curves/mnist/report.html" in (tmp_path / "reports" / "index.html").read_text()
    listed = json.loads((tmp_path / "reports" / "index.json").read_text())["reports"]
    assert [set(e["arms"]) for e in listed if e["path"] == "curves/mnist/report.html"] == [set(summary["regimes"])]
    again = run_cli(args, tmp_path, mnist_root)
    assert again.returncode == 0 and (again.stdout + again.stderr).count("already finished: skipped") == 8
