"""`autorec report`: one self-contained HTML page per folder, checked as a browser shows it
(headless Chromium, offline) and for what it must hold."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from autorec.cli import main as cli_main
from autorec.errors import ConfigError
from autorec.report import write_report
from planted import planted

runner = CliRunner()
cli_main._register()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    data = tmp / "ratings.csv"
    planted(n_users=60, n_items=40, seed=4).to_csv(data, index=False)
    search = runner.invoke(cli_main.app, ["search", "--dataset", str(data), "--models", "biased-mf,u-autorec",
                                          "--trials", "4", "--max-epochs", "4", "--cv", "none", "--out",
                                          str(tmp / "search")])
    assert search.exit_code == 0, search.output
    train = runner.invoke(cli_main.app, ["train", "--dataset", str(data), "--model", "biased-mf", "--set",
                                         "max_epochs=3", "--out", str(tmp / "train")])
    assert train.exit_code == 0, train.output
    return tmp


def test_search_and_train_write_their_report_and_command(folders):
    for kind in ("search", "train"):
        page = (folders / kind / "report.html").read_text()
        command = (folders / kind / "command.txt").read_text()
        assert command.startswith(f"autorec {kind} ") or "autorec" in command
        assert "<h2>Metrics</h2>" in page and "<h2>Data</h2>" in page and "density" in page
        assert "Learning curves" in page
    page = (folders / "search" / "report.html").read_text()
    for needle in ("Leaderboard", "Optimisation history", "pruned ones included", "time spent per model",
                   "indicative only", "Ensemble"):
        assert needle in page, needle


def test_the_page_needs_no_network(folders):
    page = (folders / "search" / "report.html").read_text()
    # no script, stylesheet or image is fetched from elsewhere
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", page)


def test_a_folder_without_metrics_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no metrics.json"):
        write_report(tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/chromium.sh installs Debian's)")
def test_headless_chromium_renders_every_chart_offline(folders, tmp_path):
    page = folders / "search" / "report.html"
    n_figures = page.read_text().count('class="plotly-graph-div"')
    assert n_figures >= 5
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
                           "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    # plotly draws an <svg class="main-svg"> into every chart it rendered
    rendered = dom.count('class="main-svg"')
    assert rendered >= n_figures, (rendered, n_figures)
    assert "Uncaught" not in proc.stderr, [line for line in proc.stderr.splitlines() if "Uncaught" in line]
