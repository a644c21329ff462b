"""Where data files live (and the per-user cache dir), and fetching a missing one from its public source with a SHA-256
check."""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from paddle_reg.errors import UserError

DATA_ROOT_ENV = "PADDLE_REG_DATA"
DOWNLOAD_TIMEOUT_S = 30


@dataclass(frozen=True)
class RemoteFile:
    """A data file known by its path under the data root, its SHA-256 and the URLs that serve it."""

    relpath: str
    sha256: str
    urls: tuple[str, ...]


def user_cache_dir() -> Path:
    """The suite's per-user cache dir (``~/.cache/paddle_reg`` on Linux, or under ``$XDG_CACHE_HOME``)."""
    return Path(platformdirs.user_cache_dir("paddle_reg"))


def data_root(configured: str | None = None) -> Path:
    """The env variable wins, then the config value (``paths.data_root``), then the per-user cache dir."""
    chosen = os.environ.get(DATA_ROOT_ENV) or configured
    if chosen:
        return Path(chosen).expanduser().resolve()
    return user_cache_dir() / "data"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(remote: RemoteFile, root: Path) -> Path:
    """Return the local path of ``remote``, downloading and checking it first if it is missing.

    A file already present is trusted (its reader validates the format), so tests can put tiny
    files of the same format in place; a downloaded file must match the SHA-256 before it is kept.
    """
    path = root / remote.relpath
    if path.is_file():
        return path
    failures = []
    for url in remote.urls:
        try:
            _download_verified(url, path, remote.sha256)
            return path
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failures.append(f"{url}: {exc}")
    raise UserError(
        f"missing data file {path}: set {DATA_ROOT_ENV} to a folder that holds {remote.relpath}, "
        f"or give this machine network access to download it from {remote.urls[0]} "
        f"({'; '.join(failures)})"
    )


def _download_verified(url: str, path: Path, sha256: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        actual = sha256_of(tmp)
        if actual != sha256:
            raise ValueError(f"SHA-256 mismatch (got {actual[:12]}…, expected {sha256[:12]}…), file rejected")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
