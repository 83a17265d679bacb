"""The on-disk format of autorec's model folders.

A model folder holds ``weights.safetensors`` (every tensor) and ``meta.json`` (everything else:
format name and version, model, hyperparameters, training settings, id maps, package version).
An ensemble folder holds ``ensemble.json`` and one model folder per member.  Loading reads no
pickle.  Every folder and JSON file is written under a temporary name and renamed into place,
so a crash never leaves a half-written artifact where a good one is expected.

This module knows formats, not estimators: ``read_model_folder`` checks what any model folder
must satisfy (it exists, its JSON parses, its format is one the caller reads, it was not written
by a newer autorec, its weights are readable) and hands back the metadata and tensors.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .._version import __version__
from ..errors import ConfigError

META_FILE = "meta.json"
WEIGHTS_FILE = "weights.safetensors"
ENSEMBLE_FILE = "ensemble.json"


# ------------------------------------------------------------------ JSON
def to_jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays, tuples and paths turned into JSON's own types
    (the one sanitiser every file autorec writes goes through).  Non-finite floats stay floats
    (Python's json writes them as NaN/Infinity, which it also reads back)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json_atomic(path: Path, obj: Any) -> Path:
    """``obj`` as indented JSON at ``path``, written to a temporary file and renamed into place."""
    return write_text_atomic(path, json.dumps(to_jsonable(obj), indent=2) + "\n")


def write_text_atomic(path: Path, text: str) -> Path:
    """``text`` (UTF-8) at ``path``, written to a temporary file and renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        _as_umask(Path(tmp), is_dir=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; a missing file, bad JSON or a non-object is a ConfigError."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{path}: expected a JSON object, found {type(obj).__name__}")
    return obj


def _as_umask(path: Path, is_dir: bool) -> None:
    # mkstemp/mkdtemp create 0600/0700 entries; a model folder should be as readable as any
    # other file the user writes (a server running as another user reads it)
    umask = os.umask(0)
    os.umask(umask)
    path.chmod((0o777 if is_dir else 0o666) & ~umask)


# ------------------------------------------------------------------ ids
def ids_to_json(ids: np.ndarray) -> dict:
    """Original user/item ids with their type, so that ``1`` and ``"1"`` stay distinct."""
    if np.issubdtype(ids.dtype, np.integer):
        return {"dtype": "int", "values": [int(x) for x in ids]}
    if np.issubdtype(ids.dtype, np.floating):
        return {"dtype": "float", "values": [float(x) for x in ids]}
    return {"dtype": "str", "values": [str(x) for x in ids]}


def ids_from_json(obj: dict) -> np.ndarray:
    dtype = {"int": np.int64, "float": np.float64, "str": object}[obj["dtype"]]
    return np.asarray(obj["values"], dtype=dtype)


def run_record(path: str | Path) -> dict:
    """The ``metrics.json`` of the run that holds the model folder ``path`` (the folder itself
    or its parent, as `autorec train` and `autorec search` lay them out), or {} when there is
    none or it does not parse: callers use it for defaults and descriptions, never to load."""
    for folder in (Path(path), Path(path).parent):
        f = folder / "metrics.json"
        if f.is_file():
            try:
                record = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                return {}
            return record if isinstance(record, dict) else {}
    return {}


# ------------------------------------------------------------------ folders
def model_dir(path: str | Path) -> Path:
    """The model folder for ``path``: ``path/model`` when ``path`` is a run folder that holds
    one (what ``autorec train`` and ``autorec search`` write; a bagged model is an ensemble
    folder), otherwise ``path`` itself."""
    path = Path(path)
    if (path / "model" / META_FILE).exists() or (path / "model" / ENSEMBLE_FILE).exists():
        return path / "model"
    return path


def folder_format(path: str | Path) -> str:
    """The format recorded in a folder: ``meta.json``'s ``format`` for a model folder,
    ``autorec-ensemble`` for an ensemble folder.  Names the problem when it is neither."""
    folder = model_dir(path)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such model folder")
    if (folder / META_FILE).exists():
        fmt = read_json(folder / META_FILE).get("format")
        if not isinstance(fmt, str):
            raise ConfigError(f"{folder / META_FILE}: no 'format' recorded; not an autorec model")
        return fmt
    if (folder / ENSEMBLE_FILE).exists():
        return read_json(folder / ENSEMBLE_FILE).get("format", "autorec-ensemble")
    raise ConfigError(f"{folder} is not an autorec model folder (no {META_FILE} or {ENSEMBLE_FILE})")


@dataclass
class ArtifactFolder:
    """What :func:`read_model_folder` found: the folder, its metadata and its tensors."""

    path: Path
    meta: dict
    tensors: dict[str, torch.Tensor]

    def require(self, *keys: str) -> None:
        """Every key must be in ``meta`` (an edited or foreign file otherwise fails later, obscurely)."""
        missing = [k for k in keys if k not in self.meta]
        if missing:
            raise ConfigError(f"{self.path / META_FILE}: missing {', '.join(map(repr, missing))}; "
                              "the file was edited or written by another program")

    def require_tensors(self, *names: str) -> None:
        missing = [k for k in names if k not in self.tensors]
        if missing:
            raise ConfigError(f"{self.path / WEIGHTS_FILE}: missing tensor(s) {', '.join(missing)}")


def read_model_folder(path: str | Path, formats: Iterable[str], versions: dict[str, int]) -> ArtifactFolder:
    """Read a model folder (or a run folder holding ``model/``) of one of ``formats``.

    ``versions[fmt]`` is the newest version of ``fmt`` this autorec reads: a folder written
    by a newer one is refused with a hint to upgrade.
    """
    folder = model_dir(path)
    meta_file = folder / META_FILE
    if not meta_file.exists():
        raise ConfigError(f"{folder} is not an autorec model folder (no {META_FILE})")
    meta = read_json(meta_file)
    formats = tuple(formats)
    fmt = meta.get("format")
    if fmt not in formats:
        raise ConfigError(f"{meta_file}: not a model this loader reads (format {fmt!r}; expected "
                          f"{' or '.join(map(repr, formats))})")
    version = meta.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"{meta_file}: format_version must be an integer, got {version!r}")
    if version > versions[fmt]:
        raise ConfigError(f"{meta_file}: written by a newer autorec (format {fmt} version {version}; "
                          f"this is autorec {__version__}, which reads up to {versions[fmt]}); upgrade")
    weights = folder / WEIGHTS_FILE
    record = meta.get("weights")  # absent in folders written by older autorec versions
    if record is not None:
        _check_record(meta_file, weights, record)
    try:
        tensors = load_file(str(weights))
    except FileNotFoundError:
        raise ConfigError(f"{weights}: missing; the model folder is incomplete") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise ConfigError(f"{weights}: not a readable safetensors file ({exc})") from None
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ConfigError(f"{weights}: tensor {name!r} holds NaN or infinite values")
    if record is not None:
        expected = record.get("tensors", {})
        if set(expected) != set(tensors):
            raise ConfigError(f"{weights}: holds tensors {sorted(tensors)}, {META_FILE} records {sorted(expected)}")
        for name, spec in expected.items():
            if list(tensors[name].shape) != list(spec.get("shape", [])):
                raise ConfigError(f"{weights}: tensor {name!r} has shape {list(tensors[name].shape)}, "
                                  f"{META_FILE} records {spec.get('shape')}")
    return ArtifactFolder(folder, meta, tensors)


def file_digest(path: Path) -> dict:
    """``{"sha256": ..., "bytes": ...}`` of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return {"sha256": h.hexdigest(), "bytes": Path(path).stat().st_size}


def _check_record(meta_file: Path, weights: Path, record: Any) -> None:
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), str) \
            or not isinstance(record.get("bytes"), int):
        raise ConfigError(f"{meta_file}: 'weights' must record the sha256 and size of {WEIGHTS_FILE}")
    if not weights.exists():
        raise ConfigError(f"{weights}: missing; the model folder is incomplete")
    size = weights.stat().st_size
    if size != record["bytes"]:
        raise ConfigError(f"{weights}: {size:,} bytes, but {meta_file.name} records {record['bytes']:,}: "
                          "the file was truncated or replaced")
    if file_digest(weights)["sha256"] != record["sha256"]:
        raise ConfigError(f"{weights}: its sha256 is not the one {meta_file.name} records: "
                          "the file was changed after it was written")


def write_model_folder(path: Path, tensors: dict[str, torch.Tensor], meta: dict) -> Path:
    """``weights.safetensors`` + ``meta.json`` into ``path``, written under a temporary name and
    renamed into place, so a crash never leaves a half-written model where one is expected.
    ``meta`` gets the package version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "autorec_version": meta.get("autorec_version", __version__)}
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        save_file(flat, str(tmp / WEIGHTS_FILE), metadata={"format": meta["format"]})
        _as_umask(tmp / WEIGHTS_FILE, is_dir=False)
        # what the loader verifies before it trusts the file: a truncated, replaced or edited
        # weights file is caught by its size and hash, a foreign one by its tensors' shapes
        meta["weights"] = {"file": WEIGHTS_FILE, **file_digest(tmp / WEIGHTS_FILE),
                           "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
                                       for k, v in sorted(flat.items())}}
        write_json_atomic(tmp / META_FILE, meta)
        _as_umask(tmp, is_dir=True)
        replace_folder(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def replace_folder(tmp: Path, path: Path) -> None:
    """Move the finished folder ``tmp`` to ``path``, replacing what is there.  A folder cannot
    be swapped in one rename, so the old one is renamed aside first and removed after: at every
    moment ``path`` is either the old folder or the new one, never a mix."""
    if path.exists():
        aside = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
        aside.rmdir()
        os.replace(path, aside)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(aside, path)
            raise
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(tmp, path)



def write_array(path: Path, array: np.ndarray) -> Path:
    """One numeric array as a safetensors file (no pickle), written atomically."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)  # a unique name: two writers never share a temporary file
    try:
        save_file({"array": torch.from_numpy(np.ascontiguousarray(array))}, str(tmp))
        _as_umask(tmp, is_dir=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_array(path: Path) -> np.ndarray:
    try:
        return load_file(str(path))["array"].numpy()
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing") from None
    except (SafetensorError, OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: not a readable array file ({exc})") from None
