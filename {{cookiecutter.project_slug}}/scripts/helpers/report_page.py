"""Assemble the report: one self-contained HTML file holding the data as JSON, the page's CSS and JS, and Plotly.

Plotly draws every chart (plotly.js ships inside the plotly Python package, so the page needs no network and
opens from disk, from a Kaggle notebook's output or attached to a message); the table, sorting and the
comparisons are plain JavaScript in report.js.
"""
import html
import importlib.util
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def plotly_js():
    """Give plotly.js from the plotly package, or raise ImportError with how to install it.

    The file is read where the package keeps it, without importing plotly: the import costs 0.2 s, most of what
    exp.py's rebuild of the report after its runs would take."""
    spec = importlib.util.find_spec("plotly")
    if spec is None:
        raise ImportError("the report's charts need plotly: pip install plotly (or pip install -r requirements.txt)")
    bundled = Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js"
    if bundled.is_file():
        return bundled.read_text(encoding="utf-8")
    from plotly.offline import get_plotlyjs  # a plotly that keeps it elsewhere
    return get_plotlyjs()


def script_safe(text):
    """Give JSON text that cannot end the <script> block it sits in."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def finite(value):
    """Give `value` with every NaN or infinity made None: JSON has no word for them."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


def render(data, title, subtitle, generated):
    """Give the whole page as text."""
    payload = script_safe(json.dumps(finite(data), allow_nan=False, separators=(",", ":"), default=str))
    statuses = sorted({run["status"] for run in data["runs"]})
    options = "".join(f'<option value="{html.escape(s)}">{html.escape(s)}</option>' for s in statuses)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}: runs report</title>
<style>{(HERE / "report.css").read_text(encoding="utf-8")}</style>
<script type="text/plain" id="plotly-source">{plotly_js()}</script>
</head><body>
<header><h1>{html.escape(title)}</h1>
<p class="meta">{html.escape(subtitle)} · built {html.escape(generated)} from the run records by scripts/report.py</p>
<nav><a href="#runs">Runs</a><a href="#cv-lb">CV and public score</a><a href="#details">A run</a>
<a href="#compare">Two runs</a><a href="#studies">Tuning studies</a></nav></header>
<section id="runs"><h2>Runs</h2>
<div class="controls"><input id="filter" type="search" placeholder="filter: exp002 lightgbm max_depth ...">
<select id="status-filter"><option value="">every status</option>{options}</select>
<label><input id="show-trials" type="checkbox"> tuning trials</label><span id="runs-count" class="note"></span></div>
<p class="note">Click a column to sort, a row for its details; tick two runs to compare them. ★ marks the best
finished run of each experiment in its metric's direction.</p>
<div class="table-wrap"><table id="runs-table"><thead><tr></tr></thead><tbody></tbody></table></div></section>
<section id="cv-lb"><h2>CV and public score</h2><div id="cv-lb-plot" class="plot"></div></section>
<section id="details"><h2>A run</h2><div id="details-body"><p class="note">Click a run in the table.</p></div></section>
<section id="compare"><h2>Two runs</h2><div id="compare-body"><p class="note">Tick two runs in the table:
their config and code side by side, and how alike their out-of-fold predictions are.</p></div></section>
<section id="studies"><h2>Tuning studies</h2><div id="studies-body"></div></section>
<script type="application/json" id="report-data">{payload}</script>
<script>{(HERE / "report_compare.js").read_text(encoding="utf-8")}</script>
<script>{(HERE / "report.js").read_text(encoding="utf-8")}</script>
</body></html>
"""
