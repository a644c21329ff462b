"""reports/index.html|pdf and reports/claims.json: every claim's one verdict, judged from the reports' summaries;
reports/index.json: every report's arms, headline numbers, regime diagnosis and published figures.

The index opens with a forest plot (each arm's Δ vs `none` on its report's headline metric, 95 % CI) and one line per
claim; then the task reports with each arm's regime diagnosis, the learning curves, the claims with their parts and
replications, and the facts F1–F9.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from paddle_reg.report import compare, plots, verdicts
from paddle_reg.report.build import base64_png, effects, render, write_html_pdf
from paddle_reg.report.evidence import SUMMARY_FILE, Evidence, read_places
from paddle_reg.report.verdicts import unit_of
from paddle_reg.store import write_atomic

CLAIMS_FILE = "claims.json"
LISTING_FILE = "index.json"


def place_order(place: str) -> tuple:
    """Sort key: task grids first, then the claim experiments, numbers in names by value (claims/e3 before e10)."""
    return place.startswith("claims/"), [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", place)]


def forest_panels(places: dict[str, Evidence]) -> list[plots.ForestPanel]:
    """Task grids first, then the claim experiments (``place_order``); Holm-marked over each place's arms."""
    panels = []
    for place, ev in sorted(places.items(), key=lambda item: place_order(item[0])):
        if not ev.metrics:
            continue
        head = ev.headline
        comparisons = ev.versus_none(head.name)
        marks = compare.holm_marks(comparisons, head.better)
        rows = tuple((arm, c.diff, c.low, c.high, marks[arm][0]) for arm, c in comparisons.items())
        title = f"{place} · {ev.task}, profile {ev.profile}" if not place.startswith("claims/") else \
            f"{place} · {ev.task}"
        panels.append(plots.ForestPanel(title, f"Δ {head.label} vs none ({unit_of(head).strip() or 'units'})",
                                        head.better, rows))
    return panels


def claims_json(judged: list[verdicts.ClaimVerdict], generated: str) -> dict:
    return {"generated": generated, "rules": list(verdicts.RULES), "claims": [v.to_json() for v in judged]}


def _curve_rows(reports_dir: Path) -> list[dict]:
    """The learning-curve reports under ``curves/``, each with what its summary says per arm."""
    rows = []
    for path in sorted(reports_dir.glob(f"curves/*/{SUMMARY_FILE}")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        rows.append({"name": path.parent.name, "link": f"curves/{path.parent.name}/report.html",
                     "task": summary["task"], "sizes": summary["sizes"], "metric": summary["metric"],
                     "delta": summary["delta"], "sentences": summary["sentences"]})
    return rows


PUBLISHED_SHOWN = ("regime", "metric", "value", "source", "n", "mean", "low", "high", "gap", "statement")
NO_DIAGNOSIS = {"tag": "diagnosis unknown", "reason": "its summary.json was written before reports had a regime "
                                                        "diagnosis: regenerate the report"}


def report_entries(reports_dir: Path) -> list[dict]:
    """One entry per report (each summary.json under ``reports_dir``): where, what, per arm n, the headline metric's
    mean and std and the regime diagnosis (without its per-seed detail, which the summary keeps), and the published
    figures beside their measured arms (without their notes)."""
    entries = []
    for path in sorted(reports_dir.rglob(SUMMARY_FILE)):
        summary = json.loads(path.read_text(encoding="utf-8"))
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
                        "headline": head, "arms": arms,
                        "published": [{key: figure[key] for key in PUBLISHED_SHOWN}
                                      for figure in summary.get("published", [])]})
    return entries


def write_index(reports_dir: Path) -> Path:
    """Rebuild the index, claims.json and index.json from the summary.json files (and benchmark records) under
    ``reports_dir``."""
    reports_dir = Path(reports_dir)
    places = read_places(reports_dir)
    judged = verdicts.judge_all(places, reports_dir)
    generated = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    grids = {place: ev for place, ev in places.items() if not place.startswith("claims/")}
    context = {
        "generated": generated, "root": "",
        "forest_png": base64_png(plots.forest(forest_panels(places))),
        "curves": _curve_rows(reports_dir),
        "grids": [{"place": place, "ev": ev, "effects": effects(ev, [ev.headline])[ev.headline.name]}
                  for place, ev in grids.items() if ev.metrics],
        "claims": [v for v in judged if not v.id.startswith("F")],
        "facts": [v for v in judged if v.id.startswith("F")],
        "claim_entries": {c["id"]: c for c in verdicts.claims()["experiment_claims"]},
        "fact_entries": {c["id"]: c for c in verdicts.claims()["fact_claims"]}, "rules": verdicts.RULES,
    }
    html = render("index.html.j2", context)
    write_atomic(reports_dir / CLAIMS_FILE, lambda tmp: tmp.write_text(
        json.dumps(claims_json(judged, generated), indent=2, ensure_ascii=False), encoding="utf-8"))
    write_atomic(reports_dir / LISTING_FILE, lambda tmp: tmp.write_text(
        json.dumps({"generated": generated, "reports": report_entries(reports_dir)}, indent=2, ensure_ascii=False),
        encoding="utf-8"))
    write_html_pdf(reports_dir, html, stem="index")
    return reports_dir / "index.html"
