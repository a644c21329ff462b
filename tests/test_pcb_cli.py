"""``python -m paddle_reg.run task=pcb`` end to end on a tiny generated DeepPCB tree, E15 regimes included."""
from __future__ import annotations

import json

from conftest import run_cli
from pcb_files import make_pcb_root

TINY = ["task=pcb", "profile=smoke", "data.val_size=2", "data.train_size=4", "data.test_size=2", "jobs=1",
        "report=false"]


def test_article_and_e15_regimes_train_and_record_detection_metrics(tmp_path):
    root = make_pcb_root(tmp_path / "data", trainval=8, test=2)
    result = run_cli(TINY + ["regimes=[both,dropblock,cutout,mixup]"], tmp_path, root)
    assert result.returncode == 0, result.stderr
    for regime in ("both", "dropblock", "cutout", "mixup"):
        run = next((tmp_path / "runs" / "pcb" / regime).glob("seed0-*"))
        assert json.loads((run / "run.json").read_text())["status"] == "finished", regime
        final = json.loads((run / "final.json").read_text())
        assert {"test_map50", "test_map33", "test_fp_per_image", "train_map50", "val_map50"} <= set(final)
        history = json.loads((run / "history.json").read_text())
        assert all(record["val_loss"] > 0 for record in history)  # for the report's overfitting rule


def test_bad_annotation_stops_before_training_with_file_and_line(tmp_path):
    root = make_pcb_root(tmp_path / "data", trainval=8, test=2)
    note = root / "deeppcb/PCBData/group00001/group00001_not/00000003.txt"
    note.write_text("1 1 30 30 9\n")
    result = run_cli(TINY, tmp_path, root)
    assert result.returncode == 2
    assert f"{note}:1: unknown defect type 9" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()
