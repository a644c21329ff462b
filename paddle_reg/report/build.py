"""Assemble a task (or claim-experiment) report from run folders and write it as HTML, PDF, JSON and CSV."""
from __future__ import annotations

import base64
import csv
import io
import json
import time
from pathlib import Path

import jinja2
import numpy as np
import yaml

from paddle_reg.report import compare, diagnosis, fonts, plots, verdicts
from paddle_reg.report.collect import RunRecord, provenance, read_runs, report_metrics, shown_path, summarize
from paddle_reg.report.evidence import SUMMARY_FILE, Evidence, place_of, read_places
from paddle_reg.report.findings import key_findings
from paddle_reg.report.published import anchors, best_sentences
from paddle_reg.store import RunDir, write_atomic
from paddle_reg.task_api import ReportMetric

MAX_ARMS_DRAWN = 16  # more arms (a claim's grid) get their claim figures and tables, not one curve or bar per arm
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("paddle_reg.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_TEMPLATES.filters.update(
    num=lambda x: f"{x:.4g}",
    sd=lambda x: f"{x:.2g}",
    signed=lambda x: f"{x:+.3g}",
    preview=lambda names, shown=12: ", ".join(names[:shown])
    + (f", … ({len(names) - shown} more)" if len(names) > shown else ""),
)


def _decay_groups(records) -> dict | None:
    for record in records:
        groups = record.info.get("decay_groups")
        if groups and groups.get("decay_count") and record.run_config.get("optim", {}).get("weight_decay"):
            return groups
    return None


def _runs_csv(records, metrics: list[ReportMetric]) -> str:
    out = io.StringIO()
    columns = ["arm", "regime", "seed", "status"] + [m.name for m in metrics] + ["path"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for r in records:
        writer.writerow({"arm": r.group, "regime": r.regime, "seed": r.seed, "status": r.status, "path": r.path,
                         **r.metrics})
    return out.getvalue()


def base64_png(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data else None


def curve_panels(metrics: tuple[ReportMetric, ...], records: list[RunRecord]) -> list[plots.Panel]:
    """Training loss, then train and validation curves of the headline metric, then their gap per epoch."""
    head = metrics[0]
    name = head.key.split("_", 1)[1]  # test_error → error
    unit = f" ({head.unit})" if head.unit else ""
    keys = {k for r in records for h in r.history for k in h}
    panels = [plots.Panel("train_loss", "training loss (train mode, mean over the epoch)", "loss")]
    if "val_loss" in keys:
        panels.append(plots.Panel("val_loss", "validation loss (eval mode)", "loss"))
    panels.append(plots.Panel(f"val_{name}", f"validation {name}", f"{name}{unit}", head.scale))
    if f"train_{name}" in keys:
        panels.append(plots.Panel(f"train_{name}", f"training {name} (train mode, running over the epoch)",
                                  f"{name}{unit}", head.scale))
        panels.append(plots.Panel(f"val_{name}", f"gap per epoch: validation − running training {name}",
                                  f"{name} gap ({'pp' if head.unit == '%' else head.unit or 'points'})",
                                  head.scale, minus=f"train_{name}"))
    return panels


def _details(records: list[RunRecord], arms: list[str]) -> tuple[list[dict], list[dict]]:
    """Non-scalar results in final.json["details"], averaged over the seeds of each arm.

    A {"labels", "matrix"} entry becomes heatmaps; {"labels", <name>: [one number per label], ...} a table.
    """
    by_key: dict[str, dict[str, list[dict]]] = {}
    for r in records:
        for key, value in (r.final.get("details") or {}).items() if r.status == "finished" else ():
            by_key.setdefault(key, {}).setdefault(r.group, []).append(value)
    images, tables = [], []
    for key, per_arm in by_key.items():
        first = next(iter(per_arm.values()))[0]
        labels = [str(label) for label in first.get("labels", [])] if isinstance(first, dict) else []
        if labels and "matrix" in first:
            matrices = {arm: np.mean([np.asarray(v["matrix"], float) for v in per_arm[arm]], axis=0)
                        for arm in arms if arm in per_arm}
            images.append({"key": key, "png": base64_png(plots.heatmaps(matrices, labels, key.replace("_", " ")))})
        elif labels:
            columns = [k for k, v in first.items() if k != "labels" and isinstance(v, list) and len(v) == len(labels)]
            rows = []
            for i, label in enumerate(labels):
                cells = []
                for column in columns:
                    for arm in arms:
                        values = [float(v[column][i]) for v in per_arm.get(arm, [])
                                  if v[column][i] is not None and np.isfinite(v[column][i])]
                        cells.append(_mean_std(values))
                rows.append({"label": label, "cells": cells})
            tables.append({"key": key, "columns": [(c, arm) for c in columns for arm in arms], "rows": rows})
    return images, tables


def _mean_std(values: list[float]) -> str:
    if not values:
        return "–"
    std = np.std(values, ddof=1) if len(values) > 1 else 0.0
    return f"{np.mean(values):.3g} ± {std:.2g}"


def _yaml(config: dict) -> str:
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)


def _flat(config: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in config.items():
        flat.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return flat


SHOWN_SETTINGS = ("seed", "regime", "model.dropout.", "model.dropout_position", "optim.weight_decay", "reg.")


def _differing(configs: list[dict]) -> list[dict]:
    """Per config, the settings whose values differ between ``configs``, but those the arm table shows anyway."""
    flats = [_flat(config) for config in configs]
    keys = sorted({key for flat in flats for key in flat if not key.startswith(SHOWN_SETTINGS)})
    varying = [key for key in keys if len({json.dumps(flat.get(key), sort_keys=True) for flat in flats}) > 1]
    return [{key: flat.get(key) for key in varying} for flat in flats]


def _arm_settings(summaries) -> list[dict]:
    rows = []
    configs = [next((r.run_config for r in s.runs if r.run_config), {}) for s in summaries]
    for s, config, other in zip(summaries, configs, _differing(configs)):
        reg = {k: v for k, v in (config.get("reg") or {}).items() if v not in (None, False)}
        model = config.get("model", {})
        rows.append({"arm": s.regime, "regime": config.get("regime", s.runs[0].regime if s.runs else "?"),
                     "dropout": model.get("dropout") or {}, "position": model.get("dropout_position"),
                     "weight_decay": config.get("optim", {}).get("weight_decay"), "reg": reg, "other": other})
    return rows


def claim_verdicts(evidence: Evidence, reports_dir: Path | None, claim_id: str | None) -> list[verdicts.ClaimVerdict]:
    """The claims this report speaks to, judged as the index judges them: with this report's runs and every other
    report's under ``reports_dir``. A claim experiment's report shows its claim; a task's report, the claims about
    its task and those it holds runs for."""
    places = read_places(reports_dir) if reports_dir is not None and Path(reports_dir).is_dir() else {}
    places[evidence.place] = evidence
    entries = {c["id"]: c for c in verdicts.claims()["experiment_claims"]}
    shown = []
    for entry in entries.values():
        if claim_id and entry["id"] != claim_id:
            continue
        judged = verdicts.judge(entry, places, reports_dir)
        here = evidence.place in [judged.result.place] + [r.result.place for r in judged.replications]
        if claim_id or here or evidence.task in entry.get("tasks", []):
            shown.append(judged)
    return shown


def relative_root(place: str) -> str:
    """From a report folder back to the reports directory, for links between reports."""
    return "../" * len(Path(place).parts)


def claim_plots(claim_id: str | None, summaries, evidence: Evidence) -> list[dict]:
    """Figures made for one claim's experiment: a metric against the swept value, or the unit-failure probe."""
    figures = []
    head = evidence.headline
    if claim_id in ("E4", "E5"):
        key = "model.dropout.hidden" if claim_id == "E4" else "optim.weight_decay"
        name = "hidden Dropout p" if claim_id == "E4" else "weight decay λ (log scale; 0 = none)"
        shown = [head] + [m for m in evidence.metrics if m.name == "weight_l2" and claim_id == "E5"]
        for metric in shown:
            points = [(evidence.setting(s, key) or 0.0, s.values(metric.name)) for s in summaries]
            points = sorted((x, values) for x, values in points if values)
            if points:
                series = {metric.label: ([x for x, _ in points], [np.mean(v) for _, v in points],
                                         [np.std(v, ddof=1) if len(v) > 1 else 0.0 for _, v in points])}
                unit = f" ({metric.unit})" if metric.unit else ""
                figures.append({"title": f"{metric.label} against the swept value",
                                "png": base64_png(plots.series_plot(name, series, f"{metric.label} by {name}",
                                                              metric.label + unit, log_x=claim_id == "E5"))})
    if claim_id == "E9":
        series = {}
        for s in summaries:
            drops = {k: list(by_seed.values()) for k, by_seed in verdicts.unit_failure_drops(s).items()}
            if drops:
                ks = sorted(drops)
                series[s.regime] = ([0.0] + [100 * k for k in ks], [0.0] + [np.mean(drops[k]) for k in ks],
                                    [0.0] + [np.std(drops[k], ddof=1) if len(drops[k]) > 1 else 0.0 for k in ks])
        if series:
            figures.append({"title": "accuracy lost when hidden units fail",
                            "png": base64_png(plots.series_plot("hidden units zeroed at test time (%)", series,
                                                          "accuracy drop against the share of failed units",
                                                          "accuracy drop (pp)"))})
    if claim_id == "E6":
        figures += decay_coupling_figures(evidence)
    if claim_id == "E7":
        key, scale = verdicts.validation_key(head), head.scale
        rough = {s.regime: [verdicts.curve_roughness(r, key, scale) for r in s.runs if r.status == "finished"]
                 for s in summaries}
        best = {s.regime: [scale * r.final[key] for r in s.runs if r.status == "finished" and key in r.final]
                for s in summaries}
        png = plots.value_bars([("roughness of the validation-error curve", "Σ|Δ| − |net Δ| (pp)", rough),
                                ("best validation error, spread over seeds", "validation error (%)", best)])
        if png:
            figures.append({"title": "instability per arm: roughness of each run's validation curve, and the "
                                     "seed-to-seed spread of its best validation error (dots: runs)",
                            "png": base64_png(png)})
    if claim_id == "E13":
        series = {}
        for norm, by_batch in verdicts.norm_batch_arms(evidence).items():
            points = [(batch, s.values(head.name)) for batch, s in sorted(by_batch.items()) if s.values(head.name)]
            if points:
                series[norm] = ([b for b, _ in points], [np.mean(v) for _, v in points],
                                [np.std(v, ddof=1) if len(v) > 1 else 0.0 for _, v in points])
        if series:
            batches = sorted({b for x, _, _ in series.values() for b in x})
            unit = f" ({head.unit})" if head.unit else ""
            figures.append({"title": f"{head.label} against the batch size, per normalization (same samples seen)",
                            "png": base64_png(plots.series_plot("batch size (log scale)", series,
                                                                f"{head.label} by batch size and norm",
                                                                head.label + unit, log_x=True, ticks=batches))})
    if claim_id == "E14":
        from paddle_reg.regularizers.layers import drop_path_rates  # here: the other reports do not load Paddle

        png = plots.value_bars([(head.label, f"{head.label} ({head.unit})" if head.unit else head.label,
                                 {s.regime: s.values(head.name) for s in summaries})])
        if png:
            figures.append({"title": f"{head.label} per arm (dots: seeds)", "png": base64_png(png)})
        rates = {}
        for s in summaries:
            setting, depth = evidence.setting(s, "reg.droppath"), evidence.setting(s, "model.depth")
            if setting and depth:
                rates[s.regime] = (list(range(1, depth + 1)),
                                   drop_path_rates(depth, setting["p"], setting["schedule"]), [0.0] * depth)
        if rates:
            figures.append({"title": "DropPath rate p_l of each residual block per arm",
                            "png": base64_png(plots.series_plot("block l", rates, "drop rate by depth", "p_l",
                                                                legend_title="arm"))})
    return figures


def decay_coupling_figures(evidence: Evidence) -> list[dict]:
    """E6: per decay mode, the validation metric over lr × λ with each seed's best λ, and log λ* against log lr."""
    couplings = [c for c in (verdicts.decay_coupling(evidence, mode) for mode in ("coupled", "decoupled")) if c]
    if not couplings:
        return []
    panels, slopes = [], {}
    for c in couplings:
        decays = ([0.0] if any((lr, 0.0) in c.mean_val for lr in c.lrs) else []) + c.decays
        values = np.array([[c.mean_val.get((lr, d), np.nan) for d in decays] for lr in c.lrs])
        logs, offset = np.log10(c.decays), len(decays) - len(c.decays)
        markers = [(i, offset + float(np.interp(np.log10(best[lr]), logs, range(len(logs)))))
                   for best in c.best.values() for i, lr in enumerate(c.lrs) if lr in best]
        panels.append(plots.Heatmap(f"{c.mode} decay", "learning rate", "weight decay λ", [f"{lr:.2g}" for lr in c.lrs],
                                    [f"{d:.2g}" for d in decays], values, markers))
        by_lr = [(lr, [best[lr] for best in c.best.values() if lr in best]) for lr in c.lrs]
        by_lr = [(lr, found) for lr, found in by_lr if found]
        slopes[f"{c.mode} (slope {c.slope.diff:+.2f})"] = (
            [lr for lr, _ in by_lr], [float(10 ** np.mean(np.log10(found))) for _, found in by_lr], [0.0] * len(by_lr))
    head = evidence.headline
    heatmap = plots.grid_heatmaps(panels, f"validation {head.key.split('_', 1)[1]} ({head.unit}), mean over seeds")
    lines = plots.series_plot("learning rate (log scale)", slopes, "best λ (geometric mean over seeds) against lr",
                              "best weight decay λ*", log_x=True, ticks=couplings[0].lrs, log_y=True,
                              legend_title="decay mode (mean slope over seeds)")
    return [{"title": "validation metric over the lr × λ grid, per decay mode; dots: each seed's best λ at each lr",
             "png": base64_png(heatmap)},
            {"title": "best λ against lr per decay mode, with the mean slope of log λ* on log lr",
             "png": base64_png(lines)}]


def effects(evidence: Evidence, metrics: list[ReportMetric]) -> dict[str, dict[str, dict]]:
    """metric → arm → its comparison against `none`, the table's colour mark (Holm over the arms) and adjusted p."""
    table = {}
    for m in metrics:
        comparisons = evidence.versus_none(m.name)
        marks = compare.holm_marks(comparisons, m.better)
        table[m.name] = {arm: {"c": c, "mark": marks[arm][0], "holm_p": marks[arm][1]} for arm, c in comparisons.items()}
    return table


def build_context(run_dirs: list[RunDir], command: str, profile: str, labels: dict[str, str] | None = None,
                  order: list[str] | None = None, claim_id: str | None = None, reports_dir: Path | None = None,
                  place: str = "", measured_in: str = "", study: dict | None = None,
                  published: list[dict] | None = None) -> dict:
    """Everything the task report shows; ``study`` (a tuning study, ``report.study``) comes first and then no claim
    is judged: its arms hold tuned values, not the articles' settings. ``published``: the config's figures to show
    beside the arms."""
    summaries = summarize(read_runs(run_dirs, labels), order)
    records = [r for s in summaries for r in s.runs]
    first = next((r for r in records if r.info.get("environment")), None)
    task = next((r.run_config["task"] for r in records if r.run_config.get("task")), "?")
    metrics = [m for m in report_metrics(task) if any(m.name in s.stats for s in summaries)] if records else []
    place = place or task
    evidence = Evidence(task, place, summaries, tuple(report_metrics(task)) if records else (), command,
                        measured_in or f"reports/{place}/report.html", profile,
                        first.info["environment"] if first else {})
    arms = [s.regime for s in summaries]
    detail_images, detail_tables = _details(records, arms)
    resolved = next((RunDir(Path(r.path)).config().get("resolved") for r in records), None) if records else None
    drawn = len(summaries) <= MAX_ARMS_DRAWN
    anchor_rows = anchors(evidence, published or []) if records else []
    return {
        "title": f"claim {claim_id}: {task}" if claim_id else f"{task}: tuning study {study['name']}" if study
        else f"{task}: regime comparison",
        "study": study,
        "task": task, "profile": profile, "command": command, "claim_id": claim_id, "place": place,
        "root": relative_root(place),
        "claim_entry": verdicts.claim(claim_id) if claim_id else None,
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "environment": evidence.environment,
        "provenance": provenance(records),
        "regimes": arms,
        "seeds": sorted({r.seed for r in records}),
        "metrics": metrics,
        "summaries": summaries,
        "evidence": evidence,
        "effects": effects(evidence, metrics),
        "published": anchor_rows,
        "published_best": best_sentences(anchor_rows),
        "records": records,
        "decay_groups": _decay_groups(records),
        "arm_settings": _arm_settings(summaries),
        "first_run": first,
        "run_config": _yaml(first.run_config) if first else "",
        "resolved": _yaml(resolved) if resolved else "",
        "curves_png": base64_png(plots.learning_curves(summaries, curve_panels(evidence.metrics, records)))
        if records and drawn else None,
        "weights_png": base64_png(plots.weight_distribution(summaries)) if drawn else None,
        "bars_png": base64_png(plots.bar_charts(summaries, [
            ("gap", "generalization gap, best checkpoint", next((f"{m.label} ({m.unit})" for m in metrics
                                                                   if m.name == "gap"), "gap")),
            ("epoch_time_s", "training time per epoch", "seconds per epoch")])) if drawn else None,
        "arms_not_drawn": 0 if drawn else len(summaries),
        "claim_figures": claim_plots(claim_id, summaries, evidence),
        "detail_images": detail_images, "detail_tables": detail_tables,
        "claims": claim_verdicts(evidence, reports_dir, claim_id) if records and not study else [],
        "claim_entries": {c["id"]: c for c in verdicts.claims()["experiment_claims"]},
        "facts": verdicts.fact_verdicts() if not claim_id and not study else [],
        "fact_entries": {c["id"]: c for c in verdicts.claims()["fact_claims"]},
        "rules": verdicts.RULES, "measured_in": evidence.measured_in, "key_findings": key_findings(evidence),
        "diagnoses": evidence.diagnoses, "baseline_warning": diagnosis.baseline_warning(evidence.diagnoses),
        "diagnosis_rules": (diagnosis.CONVERGENCE_RULE, diagnosis.OVERFITTING_RULE),
    }


def render(template: str, context: dict) -> str:
    """Render twice: the second pass embeds a font subset holding exactly the CJK characters of the first."""
    html = _TEMPLATES.get_template(template).render(font_css="", **context)
    return _TEMPLATES.get_template(template).render(font_css=fonts.font_face_css(html), **context)


def summary_json(context: dict) -> dict:
    """summary.json: the report's numbers, its key findings, and the runs the index judges the claims from."""
    return {
        "task": context["task"], "profile": context["profile"], "command": context["command"],
        "claim": context["claim_id"], "generated": context["generated"], "environment": context["environment"],
        "report": context["measured_in"],
        "metrics": [{"name": m.name, "label": m.label, "unit": m.unit, "better": m.better} for m in context["metrics"]],
        "regimes": {s.regime: {"status": s.status_counts,
                               "stats": {m: dict(zip(("mean", "std", "n"), v)) for m, v in sorted(s.stats.items())},
                               "delta_vs_none": {m: {**e[s.regime]["c"].to_json(), "holm_p": e[s.regime]["holm_p"]}
                                                 for m, e in context["effects"].items() if s.regime in e},
                               "diagnosis": context["diagnoses"][s.regime].to_json()}
                    for s in context["summaries"]},
        "key_findings": context["key_findings"],
        "published": [anchor.to_json() for anchor in context["published"]],
        **context["evidence"].to_json(),
    }


def summary_text(summary: dict) -> str:
    """summary.json's text: indented, each run record on one line (with its history and weight histogram indented,
    a 300-run grid's summary passed 2.5 MB; this way it keeps about two thirds of that)."""
    if not summary.get("runs"):
        return json.dumps(summary, indent=2, ensure_ascii=False)
    head = json.dumps({key: value for key, value in summary.items() if key != "runs"}, indent=2, ensure_ascii=False)
    rows = ",\n    ".join(json.dumps(run, ensure_ascii=False) for run in summary["runs"])
    return f'{head[:-2]},\n  "runs": [\n    {rows}\n  ]\n}}'


def write_summary(out_dir: Path, summary: dict) -> None:
    write_atomic(Path(out_dir) / SUMMARY_FILE, lambda tmp: tmp.write_text(summary_text(summary), encoding="utf-8"))


def write_html_pdf(out_dir: Path, html: str, stem: str = "report") -> None:
    from weasyprint import HTML  # imported late: it loads Pango through ctypes

    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / f"{stem}.pdf", lambda tmp: HTML(string=html).write_pdf(str(tmp)))
    write_atomic(out_dir / f"{stem}.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))


def write_task_report(run_dirs: list[RunDir], out_dir: Path, command: str, profile: str,
                      labels: dict[str, str] | None = None, order: list[str] | None = None,
                      claim_id: str | None = None, reports_dir: Path | None = None,
                      published: list[dict] | None = None) -> Path:
    """Write report.html, report.pdf, summary.json and runs.csv; ``published``: the config's figures to show beside
    the arms."""
    out_dir = Path(out_dir)
    context = build_context(run_dirs, command, profile, labels, order, claim_id, reports_dir,
                            place_of(out_dir, reports_dir), shown_path(out_dir / "report.html"), published=published)
    summary = summary_json(context)
    html = render("task_report.html.j2", context)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_summary(out_dir, summary)
    write_atomic(out_dir / "runs.csv", lambda tmp: tmp.write_text(_runs_csv(context["records"], context["metrics"])))
    write_html_pdf(out_dir, html)
    return out_dir / "report.html"
