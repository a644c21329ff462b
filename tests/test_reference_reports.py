"""scripts/reference_reports.sh: every committed kind of report has a target, and a wrong target stops it."""
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "reference_reports.sh"


def test_every_experiment_is_regenerated():
    words = set(re.findall(r"\w+", SCRIPT.read_text(encoding="utf-8")))
    experiments = sorted(path.stem for path in (ROOT / "configs" / "experiment").glob("*.yaml"))
    missing = [name for name in experiments if name not in words]
    assert experiments and not missing, f"scripts/reference_reports.sh never runs experiment(s) {missing}"


def test_unknown_target_exits_2_before_training():
    result = subprocess.run(["bash", str(SCRIPT), "mnsit"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown target 'mnsit'" in result.stderr and result.stdout == ""
