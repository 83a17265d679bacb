"""Model artifacts: a folder with ``weights.safetensors`` and ``meta.json``.

Loading reads no pickle: the weights are safetensors, everything else (model name,
hyperparameters, training settings, id maps, rating scale, default rating, package version)
is JSON.  A folder is written under a temporary name and renamed into place, so a crash never
leaves a half-written artifact where a good one is expected.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from . import __version__
from .errors import ConfigError

FORMAT = "autorec-model"
FORMAT_VERSION = 1


def _ids_to_json(ids: np.ndarray) -> dict:
    if np.issubdtype(ids.dtype, np.integer):
        return {"dtype": "int", "values": [int(x) for x in ids]}
    if np.issubdtype(ids.dtype, np.floating):
        return {"dtype": "float", "values": [float(x) for x in ids]}
    return {"dtype": "str", "values": [str(x) for x in ids]}


def _ids_from_json(obj: dict) -> np.ndarray:
    dtype = {"int": np.int64, "float": np.float64, "str": object}[obj["dtype"]]
    return np.asarray(obj["values"], dtype=dtype)


def write_json_atomic(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=2, default=_json_default)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.ndarray, tuple)):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def save_recommender(rec, path: Path) -> Path:
    """Write a fitted :class:`autorec.estimator.Recommender` to the folder ``path``."""
    state = rec.state_
    tensors = {f"module.{k}": v.detach().cpu().contiguous() for k, v in state.module.state_dict().items()}
    tensors.update({k: v.contiguous() for k, v in rec.family.extra_tensors(state).items()})
    tensors["seen.users"] = torch.from_numpy(rec.seen_users_.astype(np.uint8))
    tensors["seen.items"] = torch.from_numpy(rec.seen_items_.astype(np.uint8))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "autorec_version": __version__,
        "model": rec.model,
        "family": rec.family.kind,
        "hparams": state.hparams,
        "shapes": rec.family.shapes(state),
        "train": asdict(rec.train_config_),
        "rating_scale": list(rec.rating_scale_) if rec.rating_scale_ is not None else None,
        "global_mean": rec.global_mean_,
        "default_rating": rec.default_rating,
        "default_value": rec.default_value_,
        "clip": rec.clip,
        "user_ids": _ids_to_json(rec.user_ids_),
        "item_ids": _ids_to_json(rec.item_ids_),
    }
    return write_model_folder(Path(path), tensors, meta)


def write_model_folder(path: Path, tensors: dict[str, torch.Tensor], meta: dict) -> Path:
    """``weights.safetensors`` + ``meta.json`` into ``path``, written under a temporary name and
    renamed into place, so a crash never leaves a half-written model where one is expected."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        save_file(tensors, str(tmp / "weights.safetensors"), metadata={"format": meta["format"]})
        write_json_atomic(tmp / "meta.json", meta)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_recommender(path: Path):
    """Rebuild a :class:`Recommender` from a folder written by :func:`save_recommender`.

    ``path`` may be the model folder itself or a run folder containing ``model/``.
    """
    from .estimator import Recommender
    from .models.registry import get_family
    from .train.engine import TrainConfig, resolve_device

    path = Path(path)
    if (path / "model" / "meta.json").exists():
        path = path / "model"
    meta_file = path / "meta.json"
    if not meta_file.exists():
        raise ConfigError(f"{path} is not an autorec model folder (no meta.json)")
    try:
        meta = json.loads(meta_file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{meta_file}: not valid JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ConfigError(f"{meta_file}: not an autorec model (format {meta.get('format')!r})")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ConfigError(f"{meta_file}: written by a newer autorec (format {meta['format_version']}); upgrade")
    tensors = load_file(str(path / "weights.safetensors"))
    rec = Recommender(model=meta["model"], params={}, train=meta["train"],
                      default_rating=meta["default_rating"], clip=meta["clip"])
    rec.train_config_ = TrainConfig(**meta["train"])
    device = resolve_device("auto" if meta["train"].get("device") == "auto" else "cpu")
    rec.device_ = device
    family = get_family(meta["model"])
    state = family.rebuild(meta["model"], meta["hparams"], meta["shapes"], tensors, device)
    module_state = {k[len("module."):]: v for k, v in tensors.items() if k.startswith("module.")}
    state.module.load_state_dict(module_state)
    state.module.eval()
    rec.state_ = state
    rec.user_ids_ = _ids_from_json(meta["user_ids"])
    rec.item_ids_ = _ids_from_json(meta["item_ids"])
    rec.rating_scale_ = tuple(meta["rating_scale"]) if meta["rating_scale"] is not None else None
    rec.global_mean_ = meta["global_mean"]
    rec.default_value_ = meta["default_value"]
    rec.seen_users_ = tensors["seen.users"].numpy().astype(bool)
    rec.seen_items_ = tensors["seen.items"].numpy().astype(bool)
    rec.meta_ = meta
    return rec


def load(path: str | Path):
    """Load a saved model (``autorec.load(DIR)``): a rating `Recommender` or a `CTRModel`."""
    path = Path(path)
    folder = path / "model" if (path / "model" / "meta.json").exists() else path
    try:
        fmt = json.loads((folder / "meta.json").read_text()).get("format")
    except (OSError, json.JSONDecodeError):
        fmt = None
    if fmt == "autorec-ctr-model":
        from .ctr import CTRModel

        return CTRModel.load(folder)
    return load_recommender(path)
