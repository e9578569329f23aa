"""docs/observability.md names the metrics the engine exports, all of them, and no other."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.metrics_core import Metric

from stepstone.server.core.metrics import Metrics

PAGE = Path(__file__).resolve().parents[2] / "docs" / "observability.md"
NAME = re.compile(r"\b((?:inngest|stepstone)_[a-z_]+)\b")
TABLE_ROW = re.compile(r"^\| `((?:inngest|stepstone)_[a-z_]+)` \| (counter|gauge|histogram) \|", re.MULTILINE)
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def exported() -> dict[str, str]:
    """The names a scrape shows a user (counters with `_total`), with their type."""
    families: list[Metric] = list(Metrics().registry.collect())
    return {family.name + ("_total" if family.type == "counter" else ""): family.type for family in families}


def test_the_table_lists_every_exported_metric_with_its_type() -> None:
    documented = dict(TABLE_ROW.findall(PAGE.read_text()))
    assert documented == exported()


def test_every_metric_the_page_names_exists() -> None:
    known = exported()
    named = set()
    for name in NAME.findall(PAGE.read_text()):
        for suffix in HISTOGRAM_SERIES:
            if name.endswith(suffix) and known.get(name.removesuffix(suffix)) == "histogram":
                name = name.removesuffix(suffix)
        named.add(name)
    assert named - known.keys() == set()


GRAFANA = PAGE.parent / "grafana" / "stepstone.json"


def test_the_grafana_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads(GRAFANA.read_text())
    known = exported()
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"
    expressions = [target["expr"] for panel in panels for target in panel["targets"]]
    expressions.append(dashboard["templating"]["list"][0]["definition"])
    for expression in expressions:
        assert expression.count("(") == expression.count(")") and expression.count("{") == expression.count("}")
        for name in NAME.findall(expression):
            for suffix in HISTOGRAM_SERIES:
                if name.endswith(suffix) and known.get(name.removesuffix(suffix)) == "histogram":
                    name = name.removesuffix(suffix)
            assert name in known, f"{name} in {expression}"
    shown = {NAME.findall(expression)[0] for expression in expressions}
    assert {"inngest_function_run_ended_total", "stepstone_queue_latency_seconds_bucket"} <= shown
