#!/usr/bin/env bash
# hrvault against a peer (issue 9, "Speed"): PostgreSQL 15 + pgcrypto with a field-encrypted
# table, a per-record key wrapped by a master key, an audit row per access and durable commits,
# side by side with hrvault in one run, at 32 clients.
#
# Usage (from anywhere; as root, or as a user who can run postgres and has the packages):
#   scripts/bench-peer.sh
#   SECS=30 ROUNDS=5 scripts/bench-peer.sh | tee peer-$(git rev-parse --short HEAD).md
#   HRVAULT_BIN=/path/to/newer/hrvault scripts/bench-peer.sh
#
# What it does (method in docs/PERFORMANCE.md, "Peer: PostgreSQL 15 + pgcrypto (issue 9)"):
#  1. installs postgresql-15 (pgcrypto and pgbench ship in it and in postgresql-client-15) and
#     wrk from Debian if they are missing;
#  2. starts a throw-away PostgreSQL cluster in a temporary directory on 127.0.0.1:$PGPORT, as
#     user postgres (fsync=on, synchronous_commit=on, shared_buffers=1GB, max_connections=100),
#     and seeds benches/peer/schema.sql (two variants, raw AES and pgcrypto OpenPGP, $RECORDS
#     records each);
#  3. starts the real hrvault binary (`init`, `import` of $RECORDS records, `serve` on
#     127.0.0.1:$HRV_PORT, monitor running as always), creates an hr user, logs in;
#  4. warm-up ($WARMUP s each), then $ROUNDS rounds of, in this order:
#       hrvault /healthz, hrvault read, peer-aes read, peer-pgp read,
#       hrvault create, peer-aes create, peer-pgp create
#     each for $SECS s at $CLIENTS connections: wrk (-t$THREADS) for hrvault, pgbench
#     (-j$THREADS, -M prepared) for the peer; after each hrvault run it waits until the monitor
#     has evaluated every audit entry, after each peer run it runs CHECKPOINT, so that neither
#     system's background work falls into the other's window;
#  5. prints a Markdown table: medians of the rounds (requests/s, p50, p99, CPU per request),
#     ratios hrvault/peer and read//healthz.
# Load generator, hrvault and PostgreSQL share the machine's cores; nothing is pinned.
# Everything is removed on exit (KEEP=1 keeps the temporary directory for a post-mortem).
#
# Environment (defaults in brackets):
#   SECS [10]  ROUNDS [3]  WARMUP [3]  CLIENTS [32]  THREADS [2]  RECORDS [10000]
#   HRVAULT_BIN [target/release/hrvault, built with `cargo build --release` if missing]
#   HRVAULT_LOG [info, as `hrvault serve`; the server's log goes to a file in the temp dir]
#   PGPORT [55432]  HRV_PORT [57200]  BENCH_TMP [/var/tmp; must be a real disk, not tmpfs]
#   PEER_PGP_OPTIONS [cipher-algo=aes256; pgp_sym_encrypt options, e.g. add ,s2k-mode=1]
#   KEEP [0]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEER="$ROOT/benches/peer"
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3}
CLIENTS=${CLIENTS:-32}
THREADS=${THREADS:-2}
RECORDS=${RECORDS:-10000}
PGPORT=${PGPORT:-55432}
HRV_PORT=${HRV_PORT:-57200}
BENCH_TMP=${BENCH_TMP:-/var/tmp}
PEER_PGP_OPTIONS=${PEER_PGP_OPTIONS:-cipher-algo=aes256}
KEEP=${KEEP:-0}
export HRVAULT_LOG=${HRVAULT_LOG:-info}
PG_BIN=/usr/lib/postgresql/15/bin

log() { echo "[bench-peer $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
# 1. Packages.
need=()
[[ -x $PG_BIN/postgres ]] || need+=(postgresql-15)
[[ -x $PG_BIN/pgbench ]] || need+=(postgresql-client-15)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
if [[ ${#need[@]} -gt 0 ]]; then
    [[ $(id -u) -eq 0 ]] || die "missing ${need[*]}; install them (apt-get install ${need[*]}) or run as root"
    log "installing ${need[*]} from Debian"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi
[[ -f /usr/share/postgresql/15/extension/pgcrypto.control ]] ||
    die "pgcrypto is missing (it ships in postgresql-15 on Debian; elsewhere postgresql-contrib-15)"
command -v python3 >/dev/null || die "python3 is needed for the summary"

if [[ -z ${HRVAULT_BIN:-} ]]; then
    HRVAULT_BIN="$ROOT/target/release/hrvault"
    if [[ ! -x $HRVAULT_BIN ]]; then
        log "building hrvault (cargo build --release)"
        (cd "$ROOT" && cargo build --release >&2)
    fi
fi
[[ -x $HRVAULT_BIN ]] || die "HRVAULT_BIN=$HRVAULT_BIN is not an executable"

# ---------------------------------------------------------------------------------------------
# Temporary directory, cleaned up however the script ends.
mkdir -p "$BENCH_TMP"
[[ $(stat -f -c %T "$BENCH_TMP") != tmpfs ]] ||
    die "BENCH_TMP=$BENCH_TMP is tmpfs: fsync would be free; use a directory on the real disk"
WORK=$(mktemp -d "$BENCH_TMP/hrvault-peer.XXXXXX")
chmod 755 "$WORK"
HRV_PID=
PG_STARTED=0

if [[ $(id -u) -eq 0 ]]; then
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

cleanup() {
    local rc=$?
    set +e
    if [[ -n $HRV_PID ]] && kill -0 "$HRV_PID" 2>/dev/null; then
        kill -TERM "$HRV_PID"
        for _ in $(seq 50); do kill -0 "$HRV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$HRV_PID" 2>/dev/null
    fi
    if [[ $PG_STARTED -eq 1 ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 ||
            as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1
    fi
    if [[ $KEEP == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

hex32() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
MK=$(hex32)      # the peer's master key (wraps the record keys)
IK=$(hex32)      # the peer's blind-index key
ACTOR=$(cat /proc/sys/kernel/random/uuid)
TICK=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------------------------
# 2. PostgreSQL.
log "starting PostgreSQL 15 in $WORK/pg/data on 127.0.0.1:$PGPORT"
mkdir -p "$WORK/pg/sock"
if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$WORK/pg"; fi
as_pg "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
cat >>"$WORK/pg/data/postgresql.conf" <<EOF

# scripts/bench-peer.sh
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$WORK/pg/sock'
max_connections = 100
shared_buffers = 1GB
fsync = on
synchronous_commit = on
full_page_writes = on
wal_sync_method = fdatasync
max_wal_size = 4GB
checkpoint_timeout = 15min
logging_collector = off
EOF
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/postgres.log" -w start >/dev/null
PG_STARTED=1
PSQL=(psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE peer" >/dev/null
t0=$(date +%s)
"${PSQL[@]}" -d peer -v mk="$MK" -v ik="$IK" -v records="$RECORDS" -v pgpopt="$PEER_PGP_OPTIONS" \
    -f "$PEER/schema.sql" >/dev/null
log "peer seeded with $RECORDS records per variant in $(( $(date +%s) - t0 )) s"
PG_PID=$(head -1 "$WORK/pg/data/postmaster.pid")

# CPU seconds (in clock ticks) of a process: utime + stime + cutime + cstime.
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# PostgreSQL: the postmaster (with its reaped children: the backends that have exited) and its
# live children (background processes, backends still running).
pg_ticks() {
    local t
    t=$(proc_ticks "$PG_PID")
    for c in $(ps -o pid= --ppid "$PG_PID"); do t=$(( t + $(proc_ticks "$c") )); done
    echo "$t"
}

# ---------------------------------------------------------------------------------------------
# 3. hrvault: the real binary, as an operator runs it.
export HRVAULT_PASSPHRASE="bench-peer passphrase (not a secret)"
ADMIN_PW="bench-peer-admin-password-0001"
HR_PW="bench-peer-hr-password-0001"
log "hrvault: $HRVAULT_BIN ($("$HRVAULT_BIN" --version 2>/dev/null || echo '?'))"
HRVAULT_ADMIN_PASSWORD="$ADMIN_PW" HRVAULT_LOG=warn "$HRVAULT_BIN" init --data-dir "$WORK/vault" >/dev/null
python3 - "$RECORDS" >"$WORK/seed.csv" <<'EOF'
import sys
n = int(sys.argv[1])
first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
depts = ["R&D", "Sales", "Executives", "IT Operations/InfoSec", "Support"]
cities = [("Springfield", "IL"), ("Arlington", "VA"), ("Portland", "OR"), ("Austin", "TX")]
def ssn(i):
    a = (i // (9999 * 99)) % 898
    return f"{1 + a + (a >= 665):03}-{1 + (i // 9999) % 99:02}-{1 + i % 9999:04}"
print("employee_number,first_name,last_name,work_email,department,job_title,location,hire_date,"
      "status,ssn,date_of_birth,home_address.line1,home_address.city,home_address.state,"
      "home_address.postal_code,home_address.country,bank_account.routing_number,"
      "bank_account.account_number")
for i in range(n):
    f, l = first[i % 8], last[i // 8 % 8]
    city, state = cities[i % 4]
    print(f"E{i:08},{f},{l},{f.lower()}.{l.lower()}{i}@example.com,{depts[i % 5]},Engineer,{city},"
          f"2020-01-15,active,{ssn(i)},{1960 + i % 40}-{1 + i % 12:02}-{1 + i % 28:02},"
          f"{1 + i % 9999} Main St,{city},{state},{10000 + i % 89999:05},US,011000015,"
          f"{100000000 + i:012}")
EOF
t0=$(date +%s)
HRVAULT_LOG=warn "$HRVAULT_BIN" import --data-dir "$WORK/vault" --csv "$WORK/seed.csv" >/dev/null
log "hrvault seeded with $RECORDS records (hrvault import) in $(( $(date +%s) - t0 )) s"
printf '[auth]\ntoken_ttl_secs = 86400\n' >"$WORK/hrvault.toml"
"$HRVAULT_BIN" serve --data-dir "$WORK/vault" --listen "127.0.0.1:$HRV_PORT" \
    --config "$WORK/hrvault.toml" >"$WORK/hrvault.out" 2>"$WORK/hrvault.log" &
HRV_PID=$!
URL="http://127.0.0.1:$HRV_PORT"
for _ in $(seq 600); do
    curl -fsS -o /dev/null "$URL/healthz" 2>/dev/null && break
    kill -0 "$HRV_PID" 2>/dev/null || { cat "$WORK/hrvault.log" >&2; die "hrvault serve exited"; }
    sleep 0.1
done
login() {
    curl -fsS -H 'Content-Type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$URL/v1/auth/login" | jq -r .access_token
}
ADMIN_TOKEN=$(login admin "$ADMIN_PW")
curl -fsS -o /dev/null -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"username\":\"benchhr\",\"password\":\"$HR_PW\",\"role\":\"hr\",\"kind\":\"human\"}" "$URL/v1/users"
HR_TOKEN=$(login benchhr "$HR_PW")
# The ids to read: the list, page by page (as hr).
: >"$WORK/ids"
cursor=
while :; do
    page=$(curl -fsS -H "Authorization: Bearer $HR_TOKEN" "$URL/v1/employees?limit=500${cursor:+&cursor=$cursor}")
    jq -r '.employees[].id' <<<"$page" >>"$WORK/ids"
    cursor=$(jq -r '.next_cursor // empty' <<<"$page")
    [[ -n $cursor ]] || break
done
[[ $(wc -l <"$WORK/ids") -eq $RECORDS ]] || die "expected $RECORDS ids, got $(wc -l <"$WORK/ids")"

# Monitor figures are on /metrics only for a security or admin token.
metric() {
    curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
# Waits (up to 60 s) until the monitor has evaluated every audit entry.
wait_monitor() {
    local head seen
    for _ in $(seq 600); do
        head=$(metric hrvault_audit_head_seq)
        seen=$(metric hrvault_monitor_processed_seq)
        [[ -n $head && -n $seen ]] && (( ${seen%.*} >= ${head%.*} )) && return 0
        sleep 0.1
    done
    log "warning: the monitor was still behind after 60 s (head $head, evaluated $seen)"
}

# ---------------------------------------------------------------------------------------------
# 4. The runs.
printf 'round\tsystem\top\trps\tp50_us\tp99_us\terrors\tsrv_cpu_us\tload_cpu_us\n' >"$WORK/results.tsv"
RUN=0

# run_hrvault ROUND OP SECS
run_hrvault() {
    local round=$1 op=$2 secs=$3 out="$WORK/run-$RUN.out"
    RUN=$((RUN + 1))
    local s0 s1
    s0=$(proc_ticks "$HRV_PID")
    HRV_MODE=$op HRV_TOKEN=$HR_TOKEN HRV_IDS="$WORK/ids" HRV_SEED=$RUN \
        HRV_BASE=$(( 20000 + RUN * THREADS * 10000000 )) \
        /usr/bin/time -f 'TIME %U %S' -o "$out.time" \
        wrk -t"$THREADS" -c"$CLIENTS" -d"${secs}s" --timeout 10s -s "$PEER/wrk.lua" "$URL" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed"; }
    s1=$(proc_ticks "$HRV_PID")
    [[ $op == healthz ]] || wait_monitor
    [[ $round == warmup ]] && return 0
    python3 - "$round" "$op" "$out" "$((s1 - s0))" "$TICK" >>"$WORK/results.tsv" <<'EOF'
import re, sys
round_, op, out, ticks, tick = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
text = open(out).read()
m = dict(re.findall(r"(\w+)=(\d+)", re.search(r"^WRK .*$", text, re.M).group(0)))
u, s = map(float, re.search(r"TIME ([\d.]+) ([\d.]+)", open(out + ".time").read()).groups())
n = int(m["requests"])
errors = int(m["status_errors"]) + int(m["socket_errors"])
ok = max(n - errors, 1)
rps = ok / (int(m["duration_us"]) / 1e6)
print(f"{round_}\thrvault\t{op}\t{rps:.1f}\t{m['p50_us']}\t{m['p99_us']}\t{errors}\t"
      f"{ticks / tick * 1e6 / ok:.1f}\t{(u + s) * 1e6 / ok:.1f}")
EOF
    log "round $round hrvault $op: $(tail -1 "$WORK/results.tsv" | cut -f4-)"
}

# run_peer ROUND VARIANT OP SECS
run_peer() {
    local round=$1 variant=$2 op=$3 secs=$4 out="$WORK/run-$RUN.out"
    RUN=$((RUN + 1))
    local s0 s1 rc=0
    s0=$(pg_ticks)
    /usr/bin/time -f 'TIME %U %S' -o "$out.time" \
        "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -M prepared \
        -c "$CLIENTS" -j "$THREADS" -T "$secs" --random-seed="$RUN" \
        -D records="$RECORDS" -D mk="$MK" -D ik="$IK" -D uid="$ACTOR" -D pgpopt="$PEER_PGP_OPTIONS" \
        -f "$PEER/${op}_${variant}.sql" -l --log-prefix="$WORK/pgblog-$RUN" peer >"$out" 2>&1 || rc=$?
    sleep 0.3   # let the postmaster reap the backends, so their CPU time is counted
    s1=$(pg_ticks)
    [[ $rc -eq 0 ]] || { cat "$out" >&2; die "pgbench failed ($rc)"; }
    "${PSQL[@]}" -d peer -c CHECKPOINT >/dev/null
    if [[ $round == warmup ]]; then rm -f "$WORK/pgblog-$RUN".*; return 0; fi
    python3 - "$round" "peer-$variant" "$op" "$out" "$((s1 - s0))" "$TICK" "$WORK/pgblog-$RUN" \
        >>"$WORK/results.tsv" <<'EOF'
import glob, re, sys
round_, system, op, out, ticks, tick, prefix = sys.argv[1:8]
ticks, tick = int(ticks), int(tick)
text = open(out).read()
tps = float(re.search(r"^tps = ([\d.]+)", text, re.M).group(1))
n = int(re.search(r"number of transactions actually processed: (\d+)", text).group(1))
failed = re.search(r"number of failed transactions: (\d+)", text)
errors = int(failed.group(1)) if failed else 0
lat = []
for f in glob.glob(prefix + ".*"):
    with open(f) as fh:
        lat.extend(int(line.split()[2]) for line in fh)
lat.sort()
at = lambda q: lat[min(int(len(lat) * q), len(lat) - 1)]
u, s = map(float, re.search(r"TIME ([\d.]+) ([\d.]+)", open(out + ".time").read()).groups())
print(f"{round_}\t{system}\t{op}\t{tps:.1f}\t{at(0.50)}\t{at(0.99)}\t{errors}\t"
      f"{ticks / tick * 1e6 / n:.1f}\t{(u + s) * 1e6 / n:.1f}")
EOF
    rm -f "$WORK/pgblog-$RUN".*
    log "round $round peer-$variant $op: $(tail -1 "$WORK/results.tsv" | cut -f4-)"
}

round() {
    local r=$1 secs=$2
    run_hrvault "$r" healthz "$secs"
    run_hrvault "$r" read "$secs"
    run_peer "$r" aes read "$secs"
    run_peer "$r" pgp read "$secs"
    run_hrvault "$r" create "$secs"
    run_peer "$r" aes create "$secs"
    run_peer "$r" pgp create "$secs"
}

START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before the runs: $START_LOAD"
if [[ $WARMUP != 0 ]]; then
    log "warm-up: $WARMUP s per pair"
    round warmup "$WARMUP"
fi
for r in $(seq "$ROUNDS"); do
    log "round $r of $ROUNDS ($SECS s per pair)"
    round "$r" "$SECS"
done
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# 5. The table.
COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')
[[ -z $(cd "$ROOT" && git status --porcelain 2>/dev/null) ]] || COMMIT="$COMMIT-dirty"
echo
echo "<!-- scripts/bench-peer.sh, $(date -u +%Y-%m-%dT%H:%M:%SZ) -->"
echo "hrvault: \`$HRVAULT_BIN\` (tree at $COMMIT); peer: $("$PG_BIN/postgres" --version);" \
    "$CLIENTS connections, $THREADS load-generator threads, $SECS s per run, $ROUNDS rounds," \
    "$RECORDS records; $(nproc) CPUs shared by everything, nothing pinned;" \
    "load average $START_LOAD before, $END_LOAD after."
echo
python3 "$PEER/report.py" "$WORK/results.tsv"
echo
echo "<details><summary>every run</summary>"
echo
echo '```'
column -t -s $'\t' "$WORK/results.tsv"
echo '```'
echo "</details>"
