"""reports/index.html|pdf: the task reports, learning curves and claim experiments present, every claim's verdict,
facts F1–F9; reports/index.json: every report's arms, headline numbers and regime diagnosis."""
from __future__ import annotations

import json
import time
from pathlib import Path

from paddle_reg.report import verdicts
from paddle_reg.report.build import CLAIM_FILE, render, write_html_pdf
from paddle_reg.store import write_atomic


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _task_rows(reports_dir: Path) -> list[dict]:
    rows = []
    for path in sorted(reports_dir.glob("*/summary.json")):
        summary = _read(path)
        if not summary or path.parent.name == "claims":
            continue
        first_stats = next(iter(summary.get("regimes", {}).values()), {}).get("stats", {})
        head = (summary.get("metrics") or [{"name": key, "label": key} for key in first_stats][:1] or [{}])[0]
        cells = []
        for arm, data in summary.get("regimes", {}).items():
            stat = data["stats"].get(head.get("name"), {})
            delta = data.get("delta_vs_none", {}).get(head.get("name"))
            cells.append({"arm": arm, "stat": stat, "delta": delta, "status": data["status"],
                          "tag": (data.get("diagnosis") or {}).get("tag")})
        rows.append({"task": summary["task"], "profile": summary["profile"], "link": f"{path.parent.name}/report.html",
                     "metric": head, "cells": cells, "environment": summary.get("environment", {}),
                     "command": summary.get("command", ""), "claims": summary.get("claims", []),
                     "report": summary.get("report")})
    return rows


def _curve_rows(reports_dir: Path) -> list[dict]:
    """The learning-curve reports under ``curves/``, each with what its summary says per arm."""
    rows = []
    for path in sorted(reports_dir.glob("curves/*/summary.json")):
        summary = _read(path)
        if summary:
            rows.append({"name": path.parent.name, "link": f"curves/{path.parent.name}/report.html",
                         "task": summary["task"], "sizes": summary["sizes"], "metric": summary["metric"],
                         "delta": summary["delta"], "sentences": summary["sentences"]})
    return rows


def claim_table(reports_dir: Path, tasks: list[dict]) -> list[dict]:
    """One row per claim and place it was judged: claim experiments first, then each task report's own grid."""
    experiments = {}
    for path in sorted((reports_dir / "claims").glob(f"*/{CLAIM_FILE}")):
        data = _read(path)
        if data:
            experiments[data["id"]] = (verdicts.ClaimResult.from_json(data), f"claims/{path.parent.name}/report.html")
    rows = []
    for entry in verdicts.claims()["experiment_claims"]:
        if entry.get("benchmark"):  # judged from the benchmark's record alone, not from grids' shared-core timings
            result = verdicts.benchmark_claim(entry, reports_dir)
            rows.append({"entry": entry, "results": [(result, result.measured_in or None)]})
            continue
        results = []
        if entry["id"] in experiments:
            results.append(experiments[entry["id"]])
        for task in tasks:
            for data in task["claims"]:
                if data["id"] == entry["id"] and data.get("measured_in") == task["report"] and data.get("parts"):
                    results.append((verdicts.ClaimResult.from_json(data), task["link"]))
        if not results:
            results.append((verdicts.not_measured(entry, ", ".join(entry.get("tasks") or ["any task"])), None))
        rows.append({"entry": entry, "results": results})
    return rows


NO_DIAGNOSIS = {"tag": "diagnosis unknown", "reason": "its summary.json was written before reports had a regime "
                                                        "diagnosis: regenerate the report"}


def report_entries(reports_dir: Path) -> list[dict]:
    """One entry per report (each summary.json under ``reports_dir``): where, what, and per arm n, the headline
    metric's mean and std and the regime diagnosis (without its per-seed detail, which the summary keeps)."""
    entries = []
    for path in sorted(reports_dir.rglob("summary.json")):
        summary = _read(path)
        if not summary:
            continue
        head = (summary.get("metrics") or [{}])[0]
        arms = {}
        for arm, data in summary.get("regimes", {}).items():
            stat = data.get("stats", {}).get(head.get("name"), {})
            found = data.get("diagnosis") or NO_DIAGNOSIS
            arms[arm] = {"n": stat.get("n", 0), "mean": stat.get("mean"), "std": stat.get("std"),
                         "status": data.get("status", {}),
                         "diagnosis": {key: {k: v for k, v in value.items() if k != "per_seed"}
                                       if isinstance(value, dict) else value for key, value in found.items()}}
        entries.append({"path": path.parent.relative_to(reports_dir).joinpath("report.html").as_posix(),
                        "task": summary.get("task"), "profile": summary.get("profile"), "claim": summary.get("claim"),
                        "command": summary.get("command"), "generated": summary.get("generated"),
                        "headline": head, "arms": arms})
    return entries


def write_index(reports_dir: Path) -> Path:
    """Rebuild the index (index.json, index.html, index.pdf) from the summary.json / claim.json files under
    ``reports_dir``."""
    reports_dir = Path(reports_dir)
    generated = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    listing = json.dumps({"generated": generated, "reports": report_entries(reports_dir)}, indent=2, ensure_ascii=False)
    write_atomic(reports_dir / "index.json", lambda tmp: tmp.write_text(listing, encoding="utf-8"))
    tasks = _task_rows(reports_dir)
    facts = verdicts.fact_results()
    context = {
        "generated": generated,
        "tasks": tasks, "curves": _curve_rows(reports_dir), "claims": claim_table(reports_dir, tasks), "facts": facts,
        "fact_entries": {c["id"]: c for c in verdicts.claims()["fact_claims"]}, "combine_rule": verdicts.COMBINE_RULE,
    }
    write_html_pdf(reports_dir, render("index.html.j2", context), stem="index")
    return reports_dir / "index.html"
