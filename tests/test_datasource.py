"""Data root resolution and downloads checked against SHA-256, served from a loopback HTTP server."""
from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest

from paddle_reg.datasource import DATA_ROOT_ENV, RemoteFile, data_root, fetch
from paddle_reg.errors import UserError


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/served on 127.0.0.1 for the duration of a test."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_download_checks_sha256_and_keeps_the_file(server, tmp_path):
    served, url = server
    (served / "good.gz").write_bytes(b"payload" * 1000)
    remote = RemoteFile("set/good.gz", hashlib.sha256(b"payload" * 1000).hexdigest(), (url + "good.gz",))
    path = fetch(remote, tmp_path / "root")
    assert path == tmp_path / "root" / "set" / "good.gz"
    assert path.read_bytes() == b"payload" * 1000
    assert [p.name for p in path.parent.iterdir()] == ["good.gz"]  # no partial file left behind


def test_corrupted_download_is_rejected_and_not_kept(server, tmp_path):
    served, url = server
    (served / "bad.gz").write_bytes(b"corrupted bytes")
    remote = RemoteFile("set/bad.gz", hashlib.sha256(b"the real bytes").hexdigest(), (url + "bad.gz",))
    with pytest.raises(UserError, match="SHA-256 mismatch"):
        fetch(remote, tmp_path / "root")
    assert list((tmp_path / "root" / "set").iterdir()) == []


def test_second_mirror_is_tried_when_the_first_fails(server, tmp_path):
    served, url = server
    (served / "f").write_bytes(b"x")
    remote = RemoteFile("f", hashlib.sha256(b"x").hexdigest(), (url + "missing", url + "f"))
    assert fetch(remote, tmp_path).read_bytes() == b"x"


def test_no_network_names_path_variable_and_source(tmp_path):
    remote = RemoteFile("set/f.gz", "0" * 64, ("http://127.0.0.1:9/f.gz",))
    with pytest.raises(UserError) as error:
        fetch(remote, tmp_path)
    message = str(error.value)
    assert str(tmp_path / "set" / "f.gz") in message and DATA_ROOT_ENV in message and "http://127.0.0.1:9/f.gz" in message
    assert "\n" not in message


def test_present_file_is_used_without_download(tmp_path):
    (tmp_path / "f").write_bytes(b"local")
    assert fetch(RemoteFile("f", "0" * 64, ("http://127.0.0.1:9/f",)), tmp_path).read_bytes() == b"local"


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    assert data_root(None).name == "data" and "paddle_reg" in str(data_root(None))
    assert data_root(str(tmp_path)) == tmp_path
    monkeypatch.setenv(DATA_ROOT_ENV, str(tmp_path / "env"))
    assert data_root(str(tmp_path)) == tmp_path / "env"
