#!/usr/bin/python3
"""A strict checker of the Prometheus text exposition format, version 0.0.4.

Usage: prom_check.py FILE [EXPR...]
Reads FILE (a /metrics body), checks it, and exits 1 naming the first problem:
  - every line is '# HELP name text', '# TYPE name type', another '# ' comment, or a sample
    'name{label="value",...} value' (escapes \\\\ \\" \\n only; value a float, +Inf, -Inf or NaN);
  - HELP and TYPE at most once per family and before its samples; a family's samples are contiguous;
  - every sample belongs to a family with a TYPE; counters are named *_total; histograms have
    *_bucket samples with an 'le' label in increasing order, cumulative (non-decreasing) counts, a
    le="+Inf" bucket equal to *_count, and a *_sum, per label set;
  - no duplicate sample (same name and labels); the text ends with a newline.
Then each EXPR (a Python expression over `m`, a dict {(name, frozenset of (label, value)): value},
and `s(name, **labels)`, the value of one sample or None) must be true; the first false one fails.
"""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r"[+-]?(?:Inf|NaN|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? ({VALUE})(?: -?[0-9]+)?$")
LABEL_PAIR = re.compile(rf'({LABEL})="((?:[^"\\\n]|\\[\\"n])*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(msg):
    print(f"prom_check: {msg}", file=sys.stderr)
    sys.exit(1)


def parse_labels(text, lineno):
    labels = []
    pos = 0
    while pos < len(text):
        m = LABEL_PAIR.match(text, pos)
        if not m:
            fail(f"line {lineno}: malformed labels: {{{text}}}")
        labels.append((m.group(1), m.group(2)))
        pos = m.end()
        if pos < len(text):
            if text[pos] != ",":
                fail(f"line {lineno}: expected ',' between labels: {{{text}}}")
            pos += 1
    names = [n for n, _ in labels]
    if len(names) != len(set(names)):
        fail(f"line {lineno}: a label repeated: {{{text}}}")
    return labels


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) in ("histogram", "summary"):
            return name[: -len(suffix)]
    return name


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    if not text.endswith("\n"):
        fail("the text does not end with a newline")
    types, helps, samples = {}, {}, {}
    seen_samples_of, closed = set(), set()
    current = None
    hist = {}  # (family, labels without le) -> {"buckets": [(le, v)], "count": v, "sum": v}
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not re.fullmatch(NAME, name):
                    fail(f"line {lineno}: bad metric name {name!r}")
                if name in seen_samples_of:
                    fail(f"line {lineno}: {parts[1]} for {name} after its samples")
                table = helps if parts[1] == "HELP" else types
                if name in table:
                    fail(f"line {lineno}: second {parts[1]} for {name}")
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in TYPES:
                        fail(f"line {lineno}: bad TYPE line: {line}")
                    if parts[3] == "counter" and not name.endswith("_total"):
                        fail(f"line {lineno}: counter {name} is not named *_total")
                    types[name] = parts[3]
                else:
                    helps[name] = parts[3] if len(parts) == 4 else ""
            elif not line.startswith("# ") and line != "#":
                fail(f"line {lineno}: malformed comment: {line}")
            continue
        if not line:
            fail(f"line {lineno}: empty line")
        m = SAMPLE.match(line)
        if not m:
            fail(f"line {lineno}: not a sample: {line}")
        name, label_text, value_text = m.group(1), m.group(2) or "", m.group(3)
        labels = parse_labels(label_text, lineno)
        fam = family_of(name, types)
        if fam not in types:
            fail(f"line {lineno}: sample {name} has no TYPE")
        if fam != current:
            if fam in closed:
                fail(f"line {lineno}: samples of {fam} are not contiguous")
            if current:
                closed.add(current)
            current = fam
        seen_samples_of.add(fam)
        value = float(value_text.replace("Inf", "inf"))
        key = (name, frozenset(labels))
        if key in samples:
            fail(f"line {lineno}: duplicate sample {line}")
        samples[key] = value
        if types[fam] == "histogram":
            rest = frozenset((k, v) for k, v in labels if k != "le")
            h = hist.setdefault((fam, rest), {"buckets": [], "count": None, "sum": None})
            if name == fam + "_bucket":
                le = dict(labels).get("le")
                if le is None:
                    fail(f"line {lineno}: bucket without le: {line}")
                h["buckets"].append((float(le.replace("Inf", "inf")), value))
            elif name == fam + "_count":
                h["count"] = value
            elif name == fam + "_sum":
                h["sum"] = value
            else:
                fail(f"line {lineno}: {name} in histogram {fam}")
        elif types[fam] == "counter" and (value < 0 or math.isnan(value)):
            fail(f"line {lineno}: counter below zero: {line}")
    for (fam, rest), h in hist.items():
        where = f"{fam}{{{','.join(f'{k}={v}' for k, v in sorted(rest))}}}"
        b = h["buckets"]
        if not b or b[-1][0] != math.inf:
            fail(f"{where}: no le=\"+Inf\" bucket last")
        for (le1, v1), (le2, v2) in zip(b, b[1:]):
            if not le1 < le2:
                fail(f"{where}: le not increasing")
            if v2 < v1:
                fail(f"{where}: bucket counts not cumulative")
        if h["count"] is None or h["sum"] is None:
            fail(f"{where}: no _count or _sum")
        if h["count"] != b[-1][1]:
            fail(f"{where}: _count {h['count']} differs from the +Inf bucket {b[-1][1]}")

    def s(name, **labels):
        return samples.get((name, frozenset(labels.items())))

    for expr in sys.argv[2:]:
        if not eval(expr, {"m": samples, "s": s}):
            fail(f"false: {expr}")
    print(f"prom_check: OK ({len(samples)} samples, {len(types)} families)")


main()
