"""Where a registered dataset's files are: explicit path, cache, $AUTOREC_DATA_DIR, bundled,
or a fresh download.

Downloads are written to a temporary file inside the cache folder, checked (sha256 where the
registry knows it, else the archive's structure), unpacked into a temporary folder next to
it and only then renamed into place, so the cache never holds a half-written dataset; every
failure removes its temporary files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from ..errors import DataError, DatasetNotAvailable
from .registry import DatasetSpec, get_spec

log = logging.getLogger("autorec.datasets")

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
Progress = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None)


def cache_dir() -> Path:
    """``$AUTOREC_CACHE``, else ``$XDG_CACHE_HOME/autorec``, else ``~/.cache/autorec``."""
    env = os.environ.get("AUTOREC_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "autorec"


def data_dir() -> Path | None:
    env = os.environ.get("AUTOREC_DATA_DIR")
    return Path(env).expanduser() if env else None


def has_files(folder: Path, spec: DatasetSpec) -> bool:
    return folder.is_dir() and all(any(folder.glob(pattern)) for pattern in spec.required)


def candidates(spec: DatasetSpec) -> list[tuple[str, Path]]:
    """Local places to look, in resolution order, with their labels."""
    out = [("cached", cache_dir() / spec.folder)]
    d = data_dir()
    if d is not None:
        out.append(("$AUTOREC_DATA_DIR", d / spec.folder))
    if spec.bundled:
        out.append(("bundled", BUNDLED_DIR / spec.folder))
    return out


def availability(name: str) -> list[str]:
    """Where ``name`` is available locally ("cached", "$AUTOREC_DATA_DIR", "bundled")."""
    spec = get_spec(name)
    return [label for label, folder in candidates(spec) if has_files(folder, spec)]


def is_cached(name: str) -> bool:
    spec = get_spec(name)
    return has_files(cache_dir() / spec.folder, spec)


def how_to_get(spec: DatasetSpec, reason: str = "") -> str:
    where = f"$AUTOREC_CACHE/{spec.folder} (now {cache_dir() / spec.folder})"
    if spec.urls:
        fetch = f"fetch {spec.urls[0]} and unpack it"
    else:
        fetch = spec.manual or f"get it from {spec.homepage}"
    need = ", ".join(spec.required)
    text = f"dataset {spec.name!r} is not available locally"
    if reason:
        text += f" ({reason})"
    return (f"{text}: {fetch}; then pass --data-path PATH or put the files ({need}) under "
            f"{where} or $AUTOREC_DATA_DIR/{spec.folder}")


def locate(name: str, data_path: str | Path | None = None, *, download: bool = True,
           progress: Progress | None = None) -> Path:
    """The folder (or file) holding ``name``'s files.

    Order: ``data_path`` (a file, the dataset folder, or a folder holding ``<folder>/``) ->
    the cache -> ``$AUTOREC_DATA_DIR/<folder>`` -> bundled copy -> download (if ``download``
    and the registry has an official URL).  Nothing found: :class:`DatasetNotAvailable`.
    """
    spec = get_spec(name)
    if data_path is not None:
        p = Path(data_path).expanduser()
        if not p.exists():
            raise DatasetNotAvailable(how_to_get(spec, f"--data-path {p} does not exist"))
        if p.is_file() or has_files(p, spec):
            return p
        if has_files(p / spec.folder, spec):
            return p / spec.folder
        raise DatasetNotAvailable(how_to_get(
            spec, f"--data-path {p} holds none of {', '.join(spec.required)}"))
    for _, folder in candidates(spec):
        if has_files(folder, spec):
            return folder
    if download and spec.urls:
        return fetch(spec.name, progress=progress)
    reason = "no official direct download" if not spec.urls else "download disabled"
    raise DatasetNotAvailable(how_to_get(spec, reason))


def fetch(name: str, *, cache: Path | None = None, url: str | None = None,
          timeout: float = 60.0, progress: Progress | None = None) -> Path:
    """Download, verify and unpack ``name`` into the cache; return its folder."""
    spec = get_spec(name)
    urls = (url,) if url else spec.urls
    if not urls:
        raise DatasetNotAvailable(how_to_get(spec, "no official direct download"))
    root = Path(cache) if cache is not None else cache_dir()
    target = root / spec.folder
    if has_files(target, spec):
        return target
    if target.exists():
        raise DatasetNotAvailable(how_to_get(
            spec, f"{target} exists but lacks {', '.join(spec.required)}; remove it to download again"))
    root.mkdir(parents=True, exist_ok=True)
    failures = []
    for u in urls:
        try:
            return _fetch_one(spec, u, root, target, timeout, progress)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            failures.append(f"{u}: {getattr(exc, 'reason', exc)}")
    raise DatasetNotAvailable(how_to_get(spec, "download failed: " + "; ".join(failures)))


def _fetch_one(spec: DatasetSpec, url: str, root: Path, target: Path, timeout: float,
               progress: Progress | None) -> Path:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.folder}-", suffix=".part", dir=root)
    tmp = Path(tmp_name)
    unpack_dir: Path | None = None
    try:
        log.info("downloading %s from %s", spec.name, url)
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = resp.headers.get("Content-Length") if hasattr(resp, "headers") else None
            total_n = int(total) if total and str(total).isdigit() else None
            done = 0
            while True:
                chunk = resp.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total_n)
        if spec.sha256 is not None and digest.hexdigest() != spec.sha256:
            raise DataError(f"sha256 mismatch for {spec.name}: expected {spec.sha256}, got "
                            f"{digest.hexdigest()}; the download was deleted", path=url)
        unpack_dir = Path(tempfile.mkdtemp(prefix=f".{spec.folder}-", suffix=".unpack", dir=root))
        _unpack(tmp, unpack_dir, url)
        source = _dataset_root(unpack_dir, spec, url)
        try:
            os.rename(source, target)  # atomic within one file system: all or nothing
        except OSError:
            if has_files(target, spec):  # another process finished the same download first
                return target
            raise
        if source == unpack_dir:
            unpack_dir = None
        return target
    finally:
        tmp.unlink(missing_ok=True)
        if unpack_dir is not None:
            shutil.rmtree(unpack_dir, ignore_errors=True)


def _unpack(archive: Path, dest: Path, url: str) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                resolved = (dest / member).resolve()
                if not resolved.is_relative_to(dest.resolve()):
                    raise DataError("archive member escapes the target folder", path=url,
                                    value=member)
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(dest, filter="data")
            else:  # pragma: no cover - Python without extraction filters
                for member in tf.getmembers():
                    if not (dest / member.name).resolve().is_relative_to(dest.resolve()):
                        raise DataError("archive member escapes the target folder", path=url,
                                        value=member.name)
                tf.extractall(dest)
    else:
        raise DataError("the download is neither a zip nor a tar archive", path=url)


def _dataset_root(unpacked: Path, spec: DatasetSpec, url: str) -> Path:
    """The folder inside the unpacked archive that holds the dataset's files."""
    options = []
    if spec.archive_root:
        options.append(unpacked / spec.archive_root)
    options.append(unpacked)
    subdirs = [p for p in unpacked.iterdir() if p.is_dir()]
    if len(subdirs) == 1:
        options.append(subdirs[0])
    for folder in options:
        if has_files(folder, spec):
            return folder
    raise DataError(f"the archive does not contain {', '.join(spec.required)} "
                    f"(expected under {spec.archive_root or 'its top folder'}/)", path=url)
