"""Assemble a task report from run folders and write it as HTML, PDF, JSON and CSV (each atomically)."""
from __future__ import annotations

import base64
import csv
import io
import json
import time
from pathlib import Path

import jinja2

from paddle_reg.report.collect import deltas_vs_none, read_runs, summarize
from paddle_reg.report.plots import learning_curves
from paddle_reg.store import RunDir, write_atomic

METRICS = (
    ("test_error", "test error (%)"),
    ("test_accuracy", "test accuracy (%)"),
    ("train_error", "train error (%)"),
    ("gap", "generalization gap (pp)"),
    ("best_epoch", "best epoch"),
    ("epoch_time_s", "time / epoch (s)"),
)
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("paddle_reg.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def _decay_groups(records) -> dict | None:
    for record in records:
        groups = record.info.get("decay_groups")
        if groups and record.regime in ("weight_decay", "both"):
            return groups
    return None


def _runs_csv(records) -> str:
    out = io.StringIO()
    metrics = dict.fromkeys([key for key, _ in METRICS] + [key for r in records for key in r.metrics])  # + the task's own
    columns = ["regime", "seed", "status", *metrics, "path"]
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for r in records:
        writer.writerow({"regime": r.regime, "seed": r.seed, "status": r.status, "path": r.path, **r.metrics})
    return out.getvalue()


def build_context(run_dirs: list[RunDir], command: str, profile: str) -> dict:
    records = read_runs(run_dirs)
    summaries = summarize(records)
    first = next((r for r in records if r.info.get("environment")), None)
    configs: dict[str, dict] = {}
    for record in records:
        configs.setdefault(record.regime, record.run_config)
    task = next(iter(configs.values()), {}).get("task", "?")
    return {
        "task": task,
        "profile": profile,
        "command": command,
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "environment": first.info["environment"] if first else {},
        "regimes": [s.regime for s in summaries],
        "seeds": sorted({r.seed for r in records}),
        "metrics": METRICS,
        "summaries": summaries,
        "deltas": {metric: deltas_vs_none(summaries, metric) for metric in ("test_error", "gap")},
        "records": records,
        "decay_groups": _decay_groups(records),
        "regime_settings": {regime: {"dropout": c.get("model", {}).get("dropout"),
                                     "weight_decay": c.get("optim", {}).get("weight_decay")}
                            for regime, c in configs.items()},
        "run_config": next(iter(configs.values()), {}),
        "curves_png": base64.b64encode(learning_curves(summaries)).decode() if records else None,
    }


def write_task_report(run_dirs: list[RunDir], out_dir: Path, command: str, profile: str) -> Path:
    """Write report.html, report.pdf, summary.json and runs.csv into ``out_dir``; return the HTML path."""
    from weasyprint import HTML  # imported late: it loads Pango through ctypes

    context = build_context(run_dirs, command, profile)
    html = _TEMPLATES.get_template("task_report.html.j2").render(**context)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "task": context["task"], "profile": profile, "command": command, "generated": context["generated"],
        "environment": context["environment"],
        "regimes": {s.regime: {"status": s.status_counts,
                               "stats": {m: dict(zip(("mean", "std", "n"), v)) for m, v in s.stats.items()},
                               "delta_vs_none": {m: vars(d[s.regime]) for m, d in context["deltas"].items()
                                                 if s.regime in d}}
                    for s in context["summaries"]},
    }
    write_atomic(out_dir / "summary.json", lambda tmp: tmp.write_text(json.dumps(summary, indent=2)))
    write_atomic(out_dir / "runs.csv", lambda tmp: tmp.write_text(_runs_csv(context["records"])))
    write_atomic(out_dir / "report.pdf", lambda tmp: HTML(string=html).write_pdf(str(tmp)))
    write_atomic(out_dir / "report.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return out_dir / "report.html"
