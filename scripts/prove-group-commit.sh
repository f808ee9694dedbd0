#!/usr/bin/env bash
# Proves from the system calls that hrvault acknowledges nothing before it is durable.
#
# Runs `hrvault serve` under strace while 32 clients send audited requests concurrently (each
# with its own x-request-id), then analyses the trace: for every HTTP response on an audited
# route, the audit append holding that request's entry must be followed by an fdatasync of the
# audit segment that *returned* before the first byte of the response was written; for every
# create (201), the store's fdatasync must also have returned first. It prints how many entries
# each fdatasync carried (group commit). Exit 0 only if there is no violation.
#
# Usage: scripts/prove-group-commit.sh [THREADS] [REQUESTS_PER_THREAD]
# Env:   HRVAULT_BIN (default: cargo build, then target/debug/hrvault), KEEP=1 keeps the trace.
set -euo pipefail

THREADS="${1:-32}"
PER_THREAD="${2:-20}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if ! command -v strace >/dev/null; then
    echo "strace not found; installing it" >&2
    apt-get install -y strace >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y strace >/dev/null; }
fi
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 2; }

if [[ -z "${HRVAULT_BIN:-}" ]]; then
    (cd "$ROOT" && cargo build -q --bin hrvault)
    HRVAULT_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/hrvault"
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ "${KEEP:-0}" == 1 ]]; then echo "kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

export HRVAULT_PASSPHRASE="prove-group-commit passphrase"
export HRVAULT_ADMIN_PASSWORD="Prove-Admin-Pass-1"
export HRVAULT_LOG=warn
"$HRVAULT_BIN" init --data-dir "$WORK/vault" 2>/dev/null

# -f: all threads; -tt: wall clock; -yy: fd paths and socket endpoints; -s: whole buffers.
strace -f -tt -yy -s 1048576 -o "$WORK/trace.txt" \
    -e trace=write,pwrite64,fdatasync,fsync,sendto,writev \
    "$HRVAULT_BIN" serve --data-dir "$WORK/vault" --listen 127.0.0.1:0 2>"$WORK/serve.err" &
STRACE_PID=$!
for _ in $(seq 1 600); do
    grep -q "hrvault listening on" "$WORK/serve.err" 2>/dev/null && break
    kill -0 "$STRACE_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 2; }
    sleep 0.05
done
ADDR="$(sed -n 's/^hrvault listening on http:\/\///p' "$WORK/serve.err" | head -n1)"
[[ -n "$ADDR" ]] || { echo "server did not start" >&2; cat "$WORK/serve.err" >&2; exit 2; }
SERVER_PID="$(ps -o pid= --ppid "$STRACE_PID" | tr -d ' ' | head -n1)"

# ---- load: setup, then THREADS x PER_THREAD audited requests ---------------------------------
python3 - "$ADDR" "$THREADS" "$PER_THREAD" "$WORK/load.json" <<'PY'
import http.client, json, sys, threading
addr, threads, per, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
host, port = addr.rsplit(":", 1)

def call(conn, method, path, token=None, rid=None, body=None):
    h = {"content-type": "application/json"}
    if token: h["authorization"] = "Bearer " + token
    if rid: h["x-request-id"] = rid
    conn.request(method, path, json.dumps(body) if body is not None else None, h)
    r = conn.getresponse()
    return r.status, r.read()

def employee(n):
    return {"employee_number": f"P{n:06}", "first_name": "Ada", "last_name": "Lovelace",
            "hire_date": "2026-01-15", "ssn": f"{100 + n // 9999 % 500:03}-{1 + n // 99 % 99:02}-{1 + n % 9999:04}",
            "date_of_birth": "1990-04-01"}

c = http.client.HTTPConnection(host, int(port), timeout=60)
def login(u, p):
    s, b = call(c, "POST", "/v1/auth/login", body={"username": u, "password": p})
    assert s == 200, b
    return json.loads(b)["access_token"]
admin = login("admin", "Prove-Admin-Pass-1")
for u, role in (("hr1", "hr"), ("pay1", "payroll")):
    s, b = call(c, "POST", "/v1/users", admin, body={"username": u, "password": "Prove-User-Pass-1", "role": role})
    assert s == 201, b
hr, pay = login("hr1", "Prove-User-Pass-1"), login("pay1", "Prove-User-Pass-1")
s, b = call(c, "POST", "/v1/employees", hr, body=employee(999_999))
assert s == 201, b
known = json.loads(b)["id"]

results, lock = [], threading.Lock()
def worker(t):
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    mine = []
    for i in range(per):
        rid, kind = f"load-{t}-{i}", ("create", "list", "read", "denied")[i % 4]
        if kind == "create":
            s, _ = call(conn, "POST", "/v1/employees", hr, rid, employee(t * 10_000 + i))
        elif kind == "list":
            s, _ = call(conn, "GET", "/v1/employees?limit=3", hr, rid)
        elif kind == "read":
            s, _ = call(conn, "GET", f"/v1/employees/{known}", pay, rid)
        else:
            s, _ = call(conn, "POST", "/v1/employees", pay, rid, employee(t * 10_000 + i))
        mine.append({"rid": rid, "kind": kind, "status": s})
    with lock:
        results.extend(mine)
ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
json.dump(results, open(out, "w"))
bad = [r for r in results if r["status"] >= 500]
print(f"load: {len(results)} requests from {threads} concurrent clients, {len(bad)} server errors")
PY

kill -TERM "$SERVER_PID"
wait "$STRACE_PID" || true
echo "trace: strace -f -tt -yy -e trace=write,pwrite64,fdatasync,fsync,sendto,writev; $(nproc) cores; $(basename "$HRVAULT_BIN") $("$HRVAULT_BIN" --version 2>/dev/null | cut -d' ' -f2)"

# ---- analysis ----------------------------------------------------------------------------------
python3 - "$WORK/trace.txt" "$WORK/load.json" <<'PY'
import json, re, statistics, sys

LINE = re.compile(r"^(\d+)\s+(\d\d:\d\d:\d\d\.\d+)\s+(.*)$")
CALL = re.compile(r"^(\w+)\((\d+)<")
RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
RET = re.compile(r"\)\s+=\s+(-?\d+)")
RID_ENTRY = re.compile(r'\\"(?:client_)?request_id\\":\\"([A-Za-z0-9._:-]+)\\"')
ENTRY_START = re.compile(r'(?:\("|, "|\\n)\{\\"seq\\":(\d+)')
RID_RESPONSE = re.compile(r"x-request-id: ([A-Za-z0-9._:-]+)\\r\\n")
STATUS = re.compile(r'"HTTP/1\.1 (\d{3}) ')
AUDIT = re.compile(r"/audit/\d{20}\.jsonl$")

def fd_path(rest):
    """`name(12</path>, ...` -> ('/path', rest after the annotation)."""
    m = CALL.match(rest)
    if not m:
        return None, rest
    start = m.end()
    end = rest.find("]>", start) + 1 if rest.startswith(("TCP", "UDP"), start) else rest.find(">", start)
    return rest[start:end], rest[end + 1:]

def events(lines):
    """Complete syscalls: dict(name, path, args, ret, start, end) with start/end = line numbers."""
    pending, out = {}, []
    for n, line in enumerate(lines):
        m = LINE.match(line)
        if not m:
            continue
        pid, rest = m.group(1), m.group(3)
        r = RESUMED.match(rest)
        if r:
            ev = pending.pop((pid, r.group(1)), None)
            if ev:
                ret = RET.search(r.group(2))
                ev.update(end=n, ret=int(ret.group(1)) if ret else None, args=ev["args"] + r.group(2))
                out.append(ev)
            continue
        c = CALL.match(rest)
        if not c:
            continue
        path, args = fd_path(rest)
        ev = {"name": c.group(1), "path": path, "args": args, "start": n}
        if rest.endswith("<unfinished ...>"):
            pending[(pid, c.group(1))] = ev
        else:
            ret = RET.search(rest[rest.rfind(")"):]) if ")" in rest else None
            ev.update(end=n, ret=int(ret.group(1)) if ret else None)
            out.append(ev)
    return sorted(out, key=lambda e: e["start"])

def analyse(lines, load):
    evs = events(lines)
    appends = [e for e in evs if e["name"] in ("write", "pwrite64", "writev") and AUDIT.search(e["path"] or "")]
    syncs = [e for e in evs if e["name"] in ("fdatasync", "fsync") and AUDIT.search(e["path"] or "")]
    store_syncs = [e for e in evs if e["name"] in ("fdatasync", "fsync") and "/db/" in (e["path"] or "")]
    responses = [e for e in evs if e["name"] in ("write", "writev", "sendto")
                 and (e["path"] or "").startswith("TCP") and STATUS.search(e["args"][:200])]
    entry_of, entries = {}, 0
    for a in appends:
        if a["args"].rstrip().endswith('"...'):
            sys.exit("an audit append was cut off by strace -s; raise it")
        entries += len(ENTRY_START.findall(a["args"]))
        for rid in RID_ENTRY.findall(a["args"]):
            entry_of.setdefault(rid, a)
    kinds = {r["rid"]: r for r in load}
    violations, checked, audited, unaudited = [], 0, 0, {}
    for resp in responses:
        rid = RID_RESPONSE.search(resp["args"])
        rid = rid.group(1) if rid else None
        if rid not in entry_of:
            if rid in kinds:
                violations.append(f"{rid}: answered but no audit append holds it")
            else:
                unaudited[rid] = unaudited.get(rid, 0) + 1
            continue
        audited += 1
        a = entry_of[rid]
        sync = next((s for s in syncs if s["start"] > a["end"]), None)
        if sync is None or sync["end"] > resp["start"] or sync["ret"] != 0:
            violations.append(f"{rid}: response written before the fdatasync of its entry returned")
            continue
        if STATUS.search(resp["args"][:200]).group(1) == "201":
            ss = next((s for s in store_syncs if s["start"] > sync["end"]), None)
            if ss is None or ss["end"] > resp["start"] or ss["ret"] != 0:
                violations.append(f"{rid}: 201 written before the store's fdatasync returned")
                continue
        checked += 1
    missing = [r["rid"] for r in load if r["rid"] not in entry_of]
    for rid in missing[:5]:
        violations.append(f"{rid}: a load request has no audit entry")
    return {
        "responses": len(responses), "audited": audited, "checked": checked, "unaudited": unaudited,
        "appends": len(appends), "entries": entries, "syncs": len(syncs), "store_syncs": len(store_syncs),
        "per_sync": [len(ENTRY_START.findall(a["args"])) for a in appends], "violations": violations,
    }

def self_test():
    """The analyser must catch a response written before the sync returned."""
    audit = "9</v/audit/00000000000000000001.jsonl>"
    entry = '"{\\"seq\\":1,\\"request_id\\":\\"x-1\\",\\"hash\\":\\"00\\"}\\n"'
    sock = '7<TCP:[127.0.0.1:1->127.0.0.1:2]>'
    resp = '[{iov_base="HTTP/1.1 200 OK\\r\\nx-request-id: x-1\\r\\n\\r\\n", iov_len=40}], 1) = 40'
    good = [f"1 10:00:00.000001 write({audit}, {entry}, 60) = 60",
            f"1 10:00:00.000002 fdatasync({audit}) = 0",
            f"2 10:00:00.000003 writev({sock}, {resp}"]
    bad = [good[0], f"1 10:00:00.000002 fdatasync({audit} <unfinished ...>",
           f"2 10:00:00.000003 writev({sock}, {resp}", "1 10:00:00.000004 <... fdatasync resumed>) = 0"]
    assert not analyse(good, [])["violations"], analyse(good, [])
    assert analyse(bad, [])["violations"], "the analyser missed a response before its sync"

self_test()
r = analyse(open(sys.argv[1], errors="replace").read().splitlines(), json.load(open(sys.argv[2])))
load = json.load(open(sys.argv[2]))
per = [n for n in r["per_sync"] if n]
by_status = {}
for x in load:
    by_status[x["kind"] + " " + str(x["status"])] = by_status.get(x["kind"] + " " + str(x["status"]), 0) + 1
buckets = {"1": 0, "2-4": 0, "5-16": 0, "17+": 0}
for n in per:
    buckets["1" if n == 1 else "2-4" if n <= 4 else "5-16" if n <= 16 else "17+"] += 1
print(f"load requests               {len(load)}  ({', '.join(f'{k}: {v}' for k, v in sorted(by_status.items()))})")
print(f"HTTP responses written      {r['responses']}  (audited: {r['audited']} = load + setup logins/creates; not audited: {sum(r['unaudited'].values())})")
print(f"responses checked           {r['checked']}  (entry appended -> segment fdatasync returned -> [201: store fdatasync returned] -> response)")
print(f"audit appends (write)       {r['appends']}  carrying {r['entries']} entries")
print(f"audit fdatasyncs            {r['syncs']}")
print(f"store fdatasyncs            {r['store_syncs']}")
print(f"entries per fdatasync       mean {r['entries'] / max(r['syncs'], 1):.2f}, median {statistics.median(per) if per else 0}, max {max(per) if per else 0}")
print(f"batch sizes (appends)       " + ", ".join(f"{k}: {v}" for k, v in buckets.items()))
print(f"violations                  {len(r['violations'])}")
for v in r["violations"][:20]:
    print("  " + v)
sys.exit(1 if r["violations"] or r["checked"] < len(load) else 0)
PY
