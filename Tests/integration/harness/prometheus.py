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
