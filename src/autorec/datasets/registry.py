"""The known datasets: where they come from, what they hold, whether they may be shared.

Hashes: the sha256 values of the GroupLens archives are the ones published in TensorFlow
Datasets' checksum list (``tensorflow_datasets/url_checksums/movielens.txt``).  Where no hash is
known for certain (ML-10M, ML-latest, which GroupLens updates in place, the Criteo archive)
``sha256`` is None and a download is verified by the archive's structure only: it must unpack
and contain the files the loader needs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError

Task = Literal["rating", "implicit", "ctr"]

_GL = "https://files.grouplens.org/datasets/movielens/"
_ML_LICENCE = ("GroupLens research licence: non-commercial research use, cite Harper & Konstan "
               "2015; may NOT be redistributed without permission")
_ML_SMALL_LICENCE = ("GroupLens research licence: non-commercial research use, cite Harper & "
                     "Konstan 2015; MAY be redistributed under the same licence (bundled)")
_NETFLIX_LICENCE = ("Netflix Prize rules: use limited to the contest; withdrawn in 2010; "
                    "may NOT be redistributed")
_CRITEO_LICENCE = "Criteo Labs terms: non-commercial use only; may NOT be redistributed"
_AVAZU_LICENCE = "Kaggle competition data: non-commercial; may NOT be redistributed"
_GOWALLA_LICENCE = ("SNAP Gowalla check-ins (Cho et al. 2011): research use, cite the source; "
                    "may NOT be redistributed here")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    task: Task
    description: str
    folder: str  # folder name under the cache or $AUTOREC_DATA_DIR
    required: tuple[str, ...]  # glob patterns that must match inside the folder
    loader: str  # key of the loader in autorec.datasets
    licence: str
    redistributable: bool
    rows: int | None = None  # ratings (rating/implicit) or rows (ctr), as documented
    users: int | None = None
    items: int | None = None
    positives: int | None = None  # ctr: clicks
    size_note: str = ""  # when the counts change between releases
    urls: tuple[str, ...] = ()  # official archive(s); empty when a login is needed
    sha256: str | None = None  # of the archive, where known for certain
    archive_root: str | None = None  # folder inside the archive with the files; None: top
    homepage: str = ""
    manual: str = ""  # what to do when there is no direct download
    bundled: bool = False
    rating_scale: tuple[float, float] | None = None

    @property
    def size(self) -> str:
        if self.size_note:
            return self.size_note
        parts = []
        if self.rows is not None:
            parts.append(f"{self.rows:,} {'rows' if self.task == 'ctr' else 'ratings'}")
        if self.positives is not None:
            parts.append(f"{self.positives:,} positive")
        if self.users is not None:
            parts.append(f"{self.users:,} users")
        if self.items is not None:
            parts.append(f"{self.items:,} items")
        return ", ".join(parts)

    @property
    def downloadable(self) -> bool:
        return bool(self.urls)


def _ml(name: str, description: str, *, folder: str, required: tuple[str, ...], loader: str,
        rows: int | None, users: int | None, items: int | None, sha256: str | None,
        scale: tuple[float, float], archive: str | None = None, size_note: str = "",
        homepage: str = "") -> DatasetSpec:
    return DatasetSpec(
        name=name, task="rating", description=description, folder=folder, required=required,
        loader=loader, licence=_ML_LICENCE, redistributable=False, rows=rows, users=users,
        items=items, size_note=size_note, urls=(_GL + f"{archive or name}.zip",), sha256=sha256,
        archive_root=folder, homepage=homepage or "https://grouplens.org/datasets/movielens/",
        rating_scale=scale,
    )


_SPECS: tuple[DatasetSpec, ...] = (
    _ml("ml-100k", "MovieLens 100K (1998): integer stars; user demographics, 19 genre flags, "
        "predefined splits u1-u5/ua/ub", folder="ml-100k", required=("u.data",),
        loader="ml-100k", rows=100_000, users=943, items=1_682, scale=(1.0, 5.0),
        sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        homepage="https://grouplens.org/datasets/movielens/100k/"),
    _ml("ml-1m", "MovieLens 1M (2003): integer stars; user demographics, genres",
        folder="ml-1m", required=("ratings.dat",), loader="ml-1m", rows=1_000_209,
        users=6_040, items=3_706, scale=(1.0, 5.0),
        sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        homepage="https://grouplens.org/datasets/movielens/1m/"),
    _ml("ml-10m", "MovieLens 10M (2009): half stars; genres", folder="ml-10M100K",
        required=("ratings.dat",), loader="ml-10m", rows=10_000_054, users=69_878,
        items=10_677, scale=(0.5, 5.0), sha256=None,
        homepage="https://grouplens.org/datasets/movielens/10m/"),
    _ml("ml-20m", "MovieLens 20M (2015): half stars; genres", folder="ml-20m",
        required=("ratings.csv",), loader="ml-csv", rows=20_000_263, users=138_493,
        items=26_744, scale=(0.5, 5.0),
        sha256="96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
        homepage="https://grouplens.org/datasets/movielens/20m/"),
    _ml("ml-25m", "MovieLens 25M (2019): half stars; genres", folder="ml-25m",
        required=("ratings.csv",), loader="ml-csv", rows=25_000_095, users=162_541,
        items=59_047, scale=(0.5, 5.0),
        sha256="8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
        homepage="https://grouplens.org/datasets/movielens/25m/"),
    _ml("ml-latest", "MovieLens latest full (updated by GroupLens; not for reproducible "
        "results): half stars; genres", folder="ml-latest", required=("ratings.csv",),
        loader="ml-csv", rows=None, users=None, items=None, scale=(0.5, 5.0), sha256=None,
        size_note="about 33M ratings, 330K users, 86K movies (changes with each release)",
        homepage="https://grouplens.org/datasets/movielens/latest/"),
    DatasetSpec(
        name="ml-latest-small", task="rating",
        description="MovieLens latest-small (Sept 2018): half stars; genres. Bundled default.",
        folder="ml-latest-small", required=("ratings.csv",), loader="ml-csv",
        licence=_ML_SMALL_LICENCE, redistributable=True, rows=100_836, users=610, items=9_724,
        urls=(_GL + "ml-latest-small.zip",),
        sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        archive_root="ml-latest-small", homepage="https://grouplens.org/datasets/movielens/latest/",
        bundled=True, rating_scale=(0.5, 5.0),
    ),
    DatasetSpec(
        name="netflix", task="rating",
        description="Netflix Prize training data (combined_data_1..4.txt): integer stars",
        folder="netflix", required=("combined_data_*.txt",), loader="netflix",
        licence=_NETFLIX_LICENCE, redistributable=False, rows=100_480_507, users=480_189,
        items=17_770, homepage="https://www.kaggle.com/datasets/netflix-inc/netflix-prize-data",
        manual=("no direct download (Kaggle login): download netflix-prize-data from "
                "https://www.kaggle.com/datasets/netflix-inc/netflix-prize-data and put "
                "combined_data_1.txt .. combined_data_4.txt in the folder"),
        rating_scale=(1.0, 5.0),
    ),
    DatasetSpec(
        name="criteo", task="ctr",
        description="Criteo Display Advertising Challenge (Kaggle) train.txt: 13 integer and "
                    "26 hashed categorical features, chronological",
        folder="criteo", required=("train.txt",), loader="criteo", licence=_CRITEO_LICENCE,
        redistributable=False, rows=45_840_617,
        urls=("https://go.criteo.net/criteo-research-kaggle-display-advertising-challenge-dataset.tar.gz",),
        sha256=None, archive_root=None,
        homepage="https://ailab.criteo.com/ressources/",
    ),
    DatasetSpec(
        name="avazu", task="ctr",
        description="Avazu CTR prediction (Kaggle) train: 10 days of mobile ad clicks, all "
                    "features categorical",
        folder="avazu", required=("train.csv",), loader="avazu", licence=_AVAZU_LICENCE,
        redistributable=False, rows=40_428_967,
        homepage="https://www.kaggle.com/c/avazu-ctr-prediction/data",
        manual=("no direct download (Kaggle login): download train.gz from "
                "https://www.kaggle.com/c/avazu-ctr-prediction/data and unpack it as "
                "train.csv (gunzip -c train.gz > train.csv)"),
    ),
    DatasetSpec(
        name="criteo-sample", task="ctr",
        description="the first 10,000 rows of Criteo DAC train.txt (tests, smoke runs)",
        folder="criteo-sample", required=("train-10k.txt",), loader="criteo-sample",
        licence=_CRITEO_LICENCE, redistributable=False, rows=10_000, positives=2_182,
        homepage="https://ailab.criteo.com/ressources/",
        manual="no download: make it from the full data with "
               "`head -n 10000 train.txt > criteo-sample/train-10k.txt`",
    ),
    DatasetSpec(
        name="avazu-sample", task="ctr",
        description="the first 9,999 rows of Avazu train (tests, smoke runs)",
        folder="avazu-sample", required=("train-10k.csv",), loader="avazu-sample",
        licence=_AVAZU_LICENCE, redistributable=False, rows=9_999, positives=1_706,
        homepage="https://www.kaggle.com/c/avazu-ctr-prediction/data",
        manual="no download: make it from the full data with "
               "`head -n 10000 train.csv > avazu-sample/train-10k.csv`",
    ),
    DatasetSpec(
        name="gowalla", task="implicit",
        description="Gowalla check-ins, the LightGCN paper's fixed top-N split (He et al. 2020): "
                    "train.txt, test.txt and valid.txt, one line per user (split `lightgcn`)",
        folder="gowalla", required=("train.txt", "test.txt"), loader="user-lines",
        licence=_GOWALLA_LICENCE, redistributable=False, rows=1_027_370, users=29_858, items=40_981,
        homepage="https://github.com/gusye1234/LightGCN-PyTorch/tree/master/data/gowalla",
        manual="no direct download: take train.txt and test.txt from LightGCN-PyTorch's data/gowalla "
               "(and valid.txt from LightGCN++) into a folder named gowalla",
    ),
    DatasetSpec(
        name="netflix-sample", task="rating",
        description="the first 10,000 ratings of Netflix combined_data_1.txt (movies 1-8)",
        folder="netflix-sample", required=("combined_data_*.txt",), loader="netflix",
        licence=_NETFLIX_LICENCE, redistributable=False, rows=10_000, users=9_627, items=8,
        homepage="https://www.kaggle.com/datasets/netflix-inc/netflix-prize-data",
        manual="no download: make it from the full data with "
               "`head -n 10008 combined_data_1.txt > netflix-sample/combined_data_1-10k.txt`",
        rating_scale=(1.0, 5.0),
    ),
)

REGISTRY: dict[str, DatasetSpec] = {s.name: s for s in _SPECS}


def list_datasets() -> list[DatasetSpec]:
    """Every registered dataset, in registry order."""
    return list(_SPECS)


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; an unknown name raises ConfigError with the closest known one."""
    key = name.strip().lower()
    if key in REGISTRY:
        return REGISTRY[key]
    close = difflib.get_close_matches(key, list(REGISTRY), n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown dataset {name!r}{hint}. Known datasets: {', '.join(REGISTRY)}; "
                      "or pass the path of a file or folder")
