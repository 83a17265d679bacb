"""`autorec datasets list | info | download`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from autorec.cli import datasets as datasets_cli
from autorec.cli.datasets import app
from autorec.errors import ConfigError

runner = CliRunner()


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOREC_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AUTOREC_DATA_DIR", raising=False)
    # rich wraps tables to the console's width, which it fixes when the console is made (under
    # pytest-xdist a worker's COLUMNS is 80 by then): a wide console of the module's own
    monkeypatch.setattr(datasets_cli, "console", Console(width=250))


def test_list_shows_every_dataset_and_where_it_is():
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines()
            if line.count("│") >= 5}
    assert {"ml-100k", "ml-10m", "netflix", "criteo", "avazu-sample"} <= set(rows)
    assert "bundled" in rows["ml-latest-small"] and "may redistribute" in rows["ml-latest-small"]
    assert "download" in rows["ml-100k"] and "no redistribution" in rows["ml-100k"]
    assert "manual download" in rows["netflix"]
    assert "100,000 ratings, 943 users, 1,682 items" in rows["ml-100k"]


def test_info_loads_local_data_and_shows_real_counts():
    result = runner.invoke(app, ["info", "ml-latest-small"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "100,836" in out and "610" in out and "9,724" in out
    assert "0.5 .. 5" in out and "1996-03-29" in out  # scale and first rating date (UTC)
    assert "genre_" in out  # item side features listed


def test_info_for_unavailable_dataset_says_how_to_get_it():
    result = runner.invoke(app, ["info", "ml-20m"])
    assert result.exit_code == 0, result.output
    assert "ml-20m.zip" in result.output and "--data-path" in result.output


def test_info_unknown_name_is_a_config_error():
    result = runner.invoke(app, ["info", "ml-100", "--data-path", "."])
    assert isinstance(result.exception, ConfigError)
    assert "ml-100k" in str(result.exception)


@pytest.mark.realdata
def test_info_ctr_with_data_path(data_dir):
    result = runner.invoke(app, ["info", "criteo-sample", "--data-path", str(data_dir / "criteo-sample")])
    assert result.exit_code == 0, result.output
    assert "10,000" in result.output and "2,182" in result.output
    assert "13 dense, 26 categorical" in result.output


def test_console_script_one_line_error(tmp_path):
    exe = Path(sys.executable).with_name("autorec")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "autorec.cli.main"]
    env = {**os.environ, "AUTOREC_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(cmd + ["datasets", "info", "netflx"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # one line, no traceback
    assert "unknown dataset 'netflx'" in proc.stderr and "'netflix'" in proc.stderr
    proc = subprocess.run(cmd + ["datasets", "download", "avazu"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "kaggle.com" in proc.stderr
