"""A strict parser of the Prometheus text exposition format (0.0.4): what ``/status?format=prometheus`` must be.

Python 3 standard library only.
"""

from __future__ import annotations

import re
from typing import Optional

PROM_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
PROM_SAMPLE = re.compile(rf"^({PROM_NAME})(?:\{{(.*)\}})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$")
PROM_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\\n]|\\[\\"n])*)"\s*(?:,|$)')
PROM_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _prom_value(text: str) -> float:
    if text in ("+Inf", "Inf"):
        return float("inf")
    if text == "-Inf":
        return float("-inf")
    if text == "NaN":
        return float("nan")
    try:
        return float(text)
    except ValueError:
        raise AssertionError(f"not a Prometheus sample value: {text!r}")


def _prom_labels(text: Optional[str], line: str) -> dict:
    labels, pos = {}, 0
    text = text or ""
    while pos < len(text):
        m = PROM_LABEL.match(text, pos)
        assert m and m.end() > pos, f"bad label set in line {line!r}"
        assert m.group(1) not in labels, f"label {m.group(1)} repeated in {line!r}"
        labels[m.group(1)] = m.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        pos = m.end()
    return labels


def parse_prometheus(text: str):
    """Parse the Prometheus text exposition format (0.0.4) strictly enough to catch malformed output.

    Returns (samples, types, helps): samples as [(name, labels, value)], types {family: type},
    helps {family: text}. Every sample's family must have a # TYPE line before its first sample."""
    assert text.endswith("\n"), "Prometheus text must end with a newline"
    samples, types, helps, seen = [], {}, {}, set()
    for line in text.split("\n")[:-1]:
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                assert re.fullmatch(PROM_NAME, name), f"bad metric name in {line!r}"
                if parts[1] == "TYPE":
                    assert len(parts) == 4 and parts[3] in PROM_TYPES, f"bad TYPE line {line!r}"
                    assert name not in types, f"TYPE repeated for {name}"
                    assert name not in seen, f"TYPE for {name} after its samples"
                    types[name] = parts[3]
                else:
                    assert name not in helps, f"HELP repeated for {name}"
                    helps[name] = parts[3] if len(parts) == 4 else ""
            continue
        m = PROM_SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        name, labels, value = m.group(1), _prom_labels(m.group(2), line), _prom_value(m.group(3))
        family = name
        if family not in types:
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and types.get(name[:-len(suffix)]) in ("histogram", "summary"):
                    family = name[:-len(suffix)]
        assert family in types, f"sample {name} has no # TYPE line before it"
        seen.add(family)
        samples.append((name, labels, value))
    keys = [(n, tuple(sorted(l.items()))) for n, l, _ in samples]
    assert len(keys) == len(set(keys)), "a sample (name and labels) appears twice"
    return samples, types, helps


class Metrics:
    """One parsed exposition, for looking samples up: ``value(name, **labels)`` is the one sample with exactly
    those labels (0 when there is none, as for a counter not yet incremented); ``family(name)`` every sample of
    a name as [(labels, value)]."""

    def __init__(self, text: str):
        self.samples, self.types, self.helps = parse_prometheus(text)

    def family(self, name: str) -> list:
        return [(labels, value) for n, labels, value in self.samples if n == name]

    def value(self, name: str, **labels) -> float:
        found = [v for l, v in self.family(name) if l == labels]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else 0.0

    def histogram(self, name: str, **labels) -> tuple:
        """(count, sum, [(le, cumulative count)] in order) of one histogram series; checks its shape: the
        buckets grow with le, never decrease, and end with +Inf, which equals the count."""
        buckets = [(float(l["le"]) if l["le"] != "+Inf" else float("inf"), v)
                   for l, v in self.family(name + "_bucket")
                   if {k: x for k, x in l.items() if k != "le"} == labels]
        assert buckets, f"no buckets of {name}{labels}"
        bounds = [le for le, _ in buckets]
        assert bounds == sorted(bounds) and bounds[-1] == float("inf"), bounds
        counts = [c for _, c in buckets]
        assert counts == sorted(counts), f"cumulative bucket counts decrease: {buckets}"
        count, total = self.value(name + "_count", **labels), self.value(name + "_sum", **labels)
        assert counts[-1] == count, (buckets, count)
        return count, total, buckets
