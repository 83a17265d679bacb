"""`autorec report DIR`: a train or search folder as one self-contained HTML page.

The page holds the metrics with the dataset summary, the learning curves, the search's
optimisation history, every trial's intermediate values (pruned ones included), the parameter
importances (with a caveat when they rest on few trials), the leaderboard, the ensemble's
members and weights, the time spent per model and the command that made the folder.  Charts
are Plotly figures (the search ones from Optuna's own visualisation module) with plotly.js
inlined once, so the page opens offline; the PNG versions lie beside it in the folder.
"""

from __future__ import annotations

import csv
import html
import json
import time
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ConfigError
from ..io import write_text_atomic

REPORT_FILE = "report.html"
#: below this many completed trials the importances are flagged as indicative only
FEW_TRIALS = 20


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _rows(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    except OSError:
        return []


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return _esc(value)


def _table(header: list[str], rows: list[list[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_num(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _figure(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


# ------------------------------------------------------------------ sections
def _metrics_section(metrics: dict) -> str:
    parts = []
    rows = []
    for part in ("validation", "test"):
        for key, value in (metrics.get(part) or {}).items():
            rows.append([f"{metrics.get('model', 'model')}", part, key, value])
    ens = metrics.get("ensemble") or {}
    for part in ("validation", "test"):
        for key, value in (ens.get(part) or {}).items():
            rows.append(["ensemble", part, key, value])
    parts.append(_table(["model", "part", "metric", "value"], rows, "metrics"))
    facts = [["task", metrics.get("task")], ["dataset", metrics.get("dataset")], ["split", metrics.get("split")],
             ["seed", metrics.get("seed")], ["training seconds (final model)", metrics.get("train_seconds")],
             ["epochs", metrics.get("epochs")]]
    if "search_seconds" in metrics:
        facts += [["search seconds", metrics["search_seconds"]], ["tuner", metrics.get("tuner")],
                  ["trials (completed / pruned / failed)",
                   f"{metrics.get('n_complete')} / {metrics.get('n_pruned')} / {metrics.get('n_failed')}"]]
    parts.append(_table(["", ""], [f for f in facts if f[1] is not None], "facts"))
    params = metrics.get("params") or {}
    if params:
        parts.append("<h3>Hyperparameters of the final model</h3>" +
                     _table(["name", "value"], [[k, v] for k, v in sorted(params.items())]))
    return "".join(parts)


def _data_section(metrics: dict) -> str:
    summary = metrics.get("split_summary")
    if not summary:
        return "<p class='note'>This folder records no dataset summary (written by an older autorec, or a CTR run).</p>"
    n_users, n_items, n = summary.get("n_users"), summary.get("n_items"), summary.get("n_ratings")
    rows = [["users", n_users], ["items", n_items], ["ratings", n]]
    if n_users and n_items and n:
        rows.append(["density", f"{n / (n_users * n_items):.4%}"])
    for part in ("train", "validation", "test"):
        sizes = summary.get(part)
        if isinstance(sizes, dict):
            rows.append([f"{part}: ratings / users / items",
                         f"{sizes.get('n_ratings', '')} / {sizes.get('n_users', '')} / {sizes.get('n_items', '')}"])
            if part != "train":
                for key in ("cold_users", "cold_items", "cold_ratings"):
                    if key in sizes:
                        rows.append([f"{part}: {key.replace('_', ' ')} (not in train)", sizes[key]])
    out = _table(["", ""], rows, "facts")
    hist = metrics.get("rating_histogram")
    if hist:
        import plotly.graph_objects as go

        fig = go.Figure(go.Bar(x=[str(k) for k in hist], y=list(hist.values())))
        fig.update_layout(title="ratings in the training part", xaxis_title="rating", yaxis_title="count",
                          height=320, margin=dict(t=40, b=40))
        fig.update_xaxes(type="category")
        out += _figure(fig)
    return out


def _curves_section(folder: Path, metric: str) -> str:
    rows = _rows(folder / "history.csv")
    if not rows:
        return "<p class='note'>No learning curves (the final model trained in closed form, or no history.csv).</p>"
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    key = f"val_{metric}"
    has_val = key in rows[0] and any(r.get(key) for r in rows)
    fig = make_subplots(rows=2 if has_val else 1, cols=1, shared_xaxes=True,
                        subplot_titles=["training objective"] + ([f"validation {metric}"] if has_val else []))
    epochs = [int(r["epoch"]) for r in rows]
    fig.add_trace(go.Scatter(x=epochs, y=[float(r["train_loss"]) for r in rows], name="training objective"), 1, 1)
    if has_val:
        pts = [(int(r["epoch"]), float(r[key])) for r in rows if r.get(key)]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], name=f"validation {metric}"), 2, 1)
        best = min(pts, key=lambda p: p[1])
        fig.add_vline(x=best[0], line_dash="dot", line_color="grey")
        fig.add_annotation(x=best[0], y=best[1], text=f"best {best[1]:.4f} at epoch {best[0]}", showarrow=True,
                           row=2, col=1)
    fig.update_xaxes(title_text="epoch", dtick=max(1, len(epochs) // 10), row=2 if has_val else 1, col=1)
    fig.update_layout(height=520 if has_val else 320, margin=dict(t=40, b=40), showlegend=False)
    return _figure(fig)


def _study(folder: Path):
    db = folder / "study.db"
    if not db.is_file():
        return None
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = f"sqlite:///{db}"
    names = optuna.study.get_all_study_names(storage)
    return optuna.load_study(study_name=names[0], storage=storage) if names else None


def _search_section(folder: Path, metrics: dict) -> str:
    study = _study(folder)
    if study is None:
        return ("<p class='note'>No study in this folder (a train folder, or a search whose study lives in "
                "another storage).</p>")
    import optuna
    from optuna import visualization as vis

    states = optuna.trial.TrialState
    trials = study.trials
    count = {s.name.lower(): sum(t.state == s for t in trials) for s in (states.COMPLETE, states.PRUNED, states.FAIL,
                                                                         states.RUNNING)}
    out = [f"<p>{len(trials)} trials: {count['complete']} completed, {count['pruned']} pruned, "
           f"{count['fail']} failed, {count['running']} running or interrupted.</p>"]
    if count["complete"]:
        fig = vis.plot_optimization_history(study, target_name=f"validation {metrics.get('metric', '')}".strip())
        fig.update_xaxes(dtick=max(1, len(trials) // 15))
        out.append("<h3>Optimisation history (completed trials)</h3>" + _figure(fig))
    if any(t.intermediate_values for t in trials):
        fig = vis.plot_intermediate_values(study)
        fig.update_layout(showlegend=len(trials) <= 30)
        out.append("<h3>Every trial's validation curve (pruned ones included)</h3>" + _figure(fig))
    failed = [t for t in trials if t.state == states.FAIL]
    if failed:
        out.append("<h3>Failed trials</h3>" + _table(
            ["trial", "reason"], [[t.number, str(t.user_attrs.get("error", t.system_attrs.get("fail_reason", "")))[:200]]
                                  for t in failed]))
    if count["complete"] >= 2:
        try:
            import warnings

            with warnings.catch_warnings():  # the caveat below says it once, for every parameter
                warnings.simplefilter("ignore")
                fig = vis.plot_param_importances(study)
            caveat = (f"<p class='note'>Computed from {count['complete']} completed trials: with fewer than "
                      f"{FEW_TRIALS} they are indicative only.</p>" if count["complete"] < FEW_TRIALS else "")
            out.append("<h3>Hyperparameter importances (fANOVA)</h3>" + caveat + _figure(fig))
        except (RuntimeError, ValueError, ZeroDivisionError) as exc:
            out.append(f"<p class='note'>Importances unavailable: {_esc(exc)}</p>")
    return "".join(out)


def _leaderboard_section(folder: Path) -> str:
    rows = _rows(folder / "leaderboard.csv")
    if not rows:
        return ""
    metric_col = next((c for c in rows[0] if c.startswith("val_")), None)
    shown = [[r["trial"], r["state"], r["model"], float(r[metric_col]) if r.get(metric_col) else "",
              r.get("epochs", ""), float(r["seconds"]) if r.get("seconds") else "", (r.get("error") or "")[:120]]
             for r in rows[:50]]
    out = _table(["trial", "state", "model", metric_col or "metric", "epochs", "seconds", "error"], shown, "board")
    per_model: dict[str, list[float]] = {}
    for r in rows:
        if r.get("seconds"):
            per_model.setdefault(r["model"], []).append(float(r["seconds"]))
    if per_model:
        import plotly.graph_objects as go

        names = sorted(per_model, key=lambda m: -sum(per_model[m]))
        fig = go.Figure(go.Bar(x=names, y=[sum(per_model[m]) for m in names],
                               text=[f"{len(per_model[m])} trials" for m in names], textposition="auto"))
        fig.update_layout(title="time spent per model (seconds, all trials)", height=340, margin=dict(t=40, b=40))
        out += _figure(fig)
    return out


def _ensemble_section(folder: Path, metrics: dict) -> str:
    spec = _read_json(folder / "ensemble" / "ensemble.json")
    ens = metrics.get("ensemble") or {}
    if not spec and not ens:
        if metrics.get("task") == "ranking":
            return "<p class='note'>No ensemble: the Caruana selection averages per-row predictions, which a ranking does not have.</p>"
        return "<p class='note'>No ensemble: it did not beat the best single model on validation, or none was built.</p>"
    out = ""
    if spec:
        total = sum(spec.get("weights", [])) or 1.0
        out += _table(["member", "weight", "share"], [[n, float(w), f"{w / total:.1%}"]
                                                     for n, w in zip(spec.get("members", []), spec.get("weights", []))])
    if ens.get("best_single_validation_rmse") is not None:
        out += (f"<p>Ensemble validation {_num(ens.get('validation', {}).get('rmse'))} against the best single "
                f"model's {_num(ens['best_single_validation_rmse'])}.</p>")
    return out


# ------------------------------------------------------------------ the page
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;font-size:.9rem}
th{background:#f4f4f4}.note{color:#666;font-style:italic}code{background:#f4f4f4;padding:.1rem .3rem}
"""


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write ``folder``'s report (``folder/report.html`` unless ``out`` is given); returns its path.
    Written under a temporary name and renamed into place."""
    import plotly.offline

    folder = Path(folder)
    metrics = _read_json(folder / "metrics.json")
    if metrics is None:
        raise ConfigError(f"{folder}: no metrics.json; not a folder `autorec train` or `autorec search` finished")
    metrics.setdefault("metric", {"rating": "rmse", "ctr": "logloss", "ranking": "ndcg@20"}.get(metrics.get("task"), "rmse"))
    command = (folder / "command.txt").read_text(encoding="utf-8").strip() if (folder / "command.txt").is_file() else ""
    is_search = (folder / "leaderboard.csv").is_file()
    title = f"autorec {'search' if is_search else 'run'}: {metrics.get('model', '')} on {metrics.get('dataset', '')}"
    sections = [
        ("Metrics", _metrics_section(metrics)),
        ("Data", _data_section(metrics)),
        ("Learning curves of the final model", _curves_section(folder, metrics["metric"])),
    ]
    if is_search:
        sections += [("Search", _search_section(folder, metrics)), ("Leaderboard", _leaderboard_section(folder)),
                     ("Ensemble", _ensemble_section(folder, metrics))]
    pngs = sorted(p.name for p in folder.glob("*.png"))
    body = "".join(f"<section><h2>{_esc(name)}</h2>{content}</section>" for name, content in sections)
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{STYLE}</style>"
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>"
        f"<h1>{_esc(title)}</h1>"
        f"<p>Folder <code>{_esc(folder)}</code>; report by autorec {_esc(__version__)} on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.</p>"
        + (f"<p>Made by <code>{_esc(command)}</code></p>" if command else "")
        + body
        + (f"<p class='note'>The same plots as PNG beside this page: {_esc(', '.join(pngs))}.</p>" if pngs else "")
        + "</body></html>"
    )
    target = Path(out) if out is not None else folder / REPORT_FILE
    return write_text_atomic(target, page)
