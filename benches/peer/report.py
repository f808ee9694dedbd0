#!/usr/bin/env python3
"""Summarises scripts/bench-peer.sh's runs: median of the rounds per (system, operation),
ratios, as Markdown. Input: results.tsv (one line per measured run, header first)."""
import csv
import statistics
import sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
ORDER = [
    ("hrvault", "healthz", "`GET /healthz` (ceiling: no auth, no audit, no store)"),
    ("hrvault", "read", "hrvault masked read (`GET /v1/employees/{id}` as hr)"),
    ("peer-aes", "read", "peer raw AES masked read + audit row"),
    ("peer-pgp", "read", "peer pgcrypto (`pgp_sym_*`) masked read + audit row"),
    ("hrvault", "create", "hrvault create (`POST /v1/employees`)"),
    ("peer-aes", "create", "peer raw AES create + key row + audit row"),
    ("peer-pgp", "create", "peer pgcrypto create + key row + audit row"),
]


def med(system, op, key):
    vals = [float(r[key]) for r in rows if r["system"] == system and r["op"] == op and r[key] != ""]
    return statistics.median(vals) if vals else None


def ms(us):
    return "–" if us is None else (f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs")


def cpu(v):
    return "–" if v is None else f"{v:.0f}"


rounds = len({r["round"] for r in rows})
print(f"Median of {rounds} interleaved round(s); each cell is the median over the rounds.\n")
print("| system · operation | requests/s | p50 | p99 | CPU µs/request: server · load generator | requests/s of each round | errors |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for system, op, label in ORDER:
    mine = [r for r in rows if r["system"] == system and r["op"] == op]
    if not mine:
        continue
    each = " / ".join(f"{float(r['rps']):,.0f}" for r in mine)
    errs = sum(int(r["errors"]) for r in mine)
    print(f"| {label} | {med(system, op, 'rps'):,.0f} | {ms(med(system, op, 'p50_us'))} | "
          f"{ms(med(system, op, 'p99_us'))} | {cpu(med(system, op, 'srv_cpu_us'))} · "
          f"{cpu(med(system, op, 'load_cpu_us'))} | {each} | {errs} |")


def ratio(a, b):
    x, y = med(*a, "rps"), med(*b, "rps")
    return "–" if not x or not y else f"{x / y:.2f}×"


print()
print("| ratio (medians of requests/s) | read | create |")
print("| --- | --- | --- |")
print(f"| hrvault / peer raw AES | {ratio(('hrvault', 'read'), ('peer-aes', 'read'))} | "
      f"{ratio(('hrvault', 'create'), ('peer-aes', 'create'))} |")
print(f"| hrvault / peer pgcrypto | {ratio(('hrvault', 'read'), ('peer-pgp', 'read'))} | "
      f"{ratio(('hrvault', 'create'), ('peer-pgp', 'create'))} |")
print(f"| hrvault / hrvault `/healthz` | {ratio(('hrvault', 'read'), ('hrvault', 'healthz'))} | "
      f"{ratio(('hrvault', 'create'), ('hrvault', 'healthz'))} |")
