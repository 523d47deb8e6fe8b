"""Parses an OpenMetrics text exposition (read on stdin) with the official
Prometheus client's OpenMetrics parser, a real and strict reader, and prints
every sample as JSON: [{"name", "labels", "value"}, ...]. A text that does
not parse exits non-zero with the parser's error. Used by tests/metrics.rs;
scripts/test.sh puts prometheus_client in target/test-venv."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

samples = [
    {"name": s.name, "labels": s.labels, "value": s.value}
    for family in text_string_to_metric_families(sys.stdin.read())
    for s in family.samples
]
json.dump(samples, sys.stdout)
