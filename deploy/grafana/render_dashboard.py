"""Draw the Grafana dashboard's panels as one PNG from a real Prometheus server's query results.

    python deploy/grafana/render_dashboard.py --prometheus http://127.0.0.1:9090 --minutes 5 \
        --out docs/img/dashboard.png

Each panel of ``deploy/grafana/latentwire.json`` becomes one matplotlib axis: every target's
``query_range`` result over the last ``--minutes`` as lines (``$topic`` matches every topic). This is
how ``docs/img/dashboard.png`` was made (the Prometheus integration test calls it when
``LATENTWIRE_DASHBOARD_PNG`` names an output file), so the picture shows real bridges' numbers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).with_name("latentwire.json")


def panel_queries(dashboard: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(panel title, [(PromQL, legend format), ...]), ...]`` with dashboard variables filled in."""
    out = []
    for panel in dashboard["panels"]:
        targets = [
            (t["expr"].replace("$topic", ".*"), t.get("legendFormat", "")) for t in panel.get("targets", [])
        ]
        out.append((panel["title"], targets))
    return out


def query_range(base: str, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}", timeout=30) as resp:  # noqa: S310
        body = json.load(resp)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return body["data"]["result"]


def _legend(fmt: str, labels: dict[str, str]) -> str:
    text = fmt
    for key, value in labels.items():
        text = text.replace("{{" + key + "}}", value[:24])
    return text.replace("{{", "").replace("}}", "") or ",".join(f"{k}={v}" for k, v in labels.items())


def render(base: str, out: Path, minutes: float, dashboard_path: Path = DASHBOARD) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dashboard = json.loads(dashboard_path.read_text())
    panels = panel_queries(dashboard)
    end = time.time()
    start = end - 60 * minutes
    step = max(1.0, (end - start) / 200)
    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 3.2 * rows), squeeze=False)
    for ax, (title, targets) in zip(axes.ravel(), panels, strict=False):
        drawn = 0
        for expr, legend in targets:
            result = query_range(base, expr, start, end, step)
            if len(result) > 6:  # many label sets (e.g. one per error kind): draw only those that moved
                result = [s for s in result if any(float(v) != 0 for _, v in s["values"])]
            for series in result:
                xs = [float(t) - end for t, _ in series["values"]]
                ys = [float(v) for _, v in series["values"]]
                if "timestamp" in expr:
                    ys = [y / 1000 - end for y in ys]  # "last seen", seconds before the end of the plot
                ax.plot(xs, ys, label=_legend(legend, series["metric"]), linewidth=1.2)
                drawn += 1
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(
            "seconds before " + datetime.datetime.fromtimestamp(end, datetime.UTC).strftime("%H:%M:%SZ"),
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=6, loc="best")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    fig.suptitle(f"{dashboard['title']}: Prometheus query results, last {minutes:g} min", fontsize=12)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus base URL")
    parser.add_argument("--minutes", type=float, default=15.0, help="time range to draw")
    parser.add_argument("--out", type=Path, default=Path("docs/img/dashboard.png"), help="PNG to write")
    args = parser.parse_args()
    render(args.prometheus.rstrip("/"), args.out, args.minutes)


if __name__ == "__main__":
    main()
