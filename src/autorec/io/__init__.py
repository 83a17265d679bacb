"""Reading and writing autorec's files: model folders (safetensors + JSON), atomic JSON,
JSON-safe values, the one-writer lock of an output folder.  Knows the on-disk format only, never an estimator: each estimator
saves and loads itself through these functions, and `autorec.api.load` dispatches on the
format recorded in a folder."""

from .artifact import (
    ENSEMBLE_FILE,
    META_FILE,
    WEIGHTS_FILE,
    ArtifactFolder,
    folder_format,
    ids_from_json,
    ids_to_json,
    model_dir,
    read_array,
    read_json,
    read_model_folder,
    replace_folder,
    run_record,
    to_jsonable,
    write_array,
    write_json_atomic,
    write_text_atomic,
    write_model_folder,
)
from .folders import folder_kind, folder_lock, require_kind

__all__ = [
    "folder_kind", "folder_lock", "require_kind",
    "ENSEMBLE_FILE", "META_FILE", "WEIGHTS_FILE", "ArtifactFolder", "folder_format", "ids_from_json",
    "ids_to_json", "model_dir", "read_array", "read_json", "read_model_folder", "replace_folder", "run_record", "to_jsonable", "write_array", "write_json_atomic", "write_text_atomic",
    "write_model_folder",
]
