"""The commit a run and a report record: ``+dirty`` for changed code, not for regenerated reports."""
import subprocess

from paddle_reg.runtime import git_commit


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_a_changed_report_is_not_dirty_code_and_changed_code_is(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "reports" / "index.json").write_text("{}")
    (tmp_path / "pkg" / "code.py").write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "first")
    clean = git_commit(tmp_path / "pkg")
    assert clean and not clean.endswith("+dirty")
    (tmp_path / "reports" / "index.json").write_text('{"regenerated": true}')
    (tmp_path / "pkg" / "new_untracked.py").write_text("")
    assert git_commit(tmp_path / "pkg") == clean
    (tmp_path / "pkg" / "code.py").write_text("x = 2\n")
    assert git_commit(tmp_path / "pkg") == clean + "+dirty"
    assert git_commit(tmp_path / "reports") == clean + "+dirty"


def test_outside_a_checkout_there_is_no_commit(tmp_path):
    assert git_commit(tmp_path) is None
