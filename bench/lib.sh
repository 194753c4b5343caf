# shellcheck shell=bash
# The benchmark's private stack, shared by bench/run and bench/profile (sourced, not run).
#
# Everything lives in one temporary directory, $STATE: a PostgreSQL cluster (scripts/pg-cluster), the
# supervisor's unix socket and logs, and an nginx (scripts/nginx-local) that serves the shipped
# nginx/notes.conf, rendered as for `make run`, plus bench/nginx/bench-static.conf next to it (a second
# server on another port answering a fixed note-sized body: nginx's own ceiling). Nothing in the
# repository is changed. bench_cleanup stops everything that was started, in order, and removes $STATE
# (unless KEEP_STATE=1).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
SCRIPTS=$ROOT/scripts
BIN_DIR=${BIN_DIR:-$ROOT/.build/release}

# The rows the benchmark works on (SCALE); every scenario starts from exactly these.
readonly SEED_NOTES=${SCALE:-10000}
# Every seeded note's text, for note number n (its id when seeded in SQL): a format of PostgreSQL's format() and
# Lua's string.format alike, filled with n, n % 1000 (a word in one note of 1,000: the searches of "a common word"
# find 0.1% of the table) and n % (SCALE / 100) (a tag in exactly 100 notes at any SCALE: the searches of "a tag").
readonly NOTE_TEXT='note %s about w%s and tag%s, of the size the benchmark writes'
readonly NOTE_TAGS=$((SEED_NOTES / 100))

STATE=''
DATABASE_URL=''
HTTP_PORT=''
STATIC_PORT=''
SUPERVISOR_PID=''
STARTED_CLUSTER=''
STARTED_NGINX=''
BG_PIDS=()

log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

# A zombie still answers kill -0: look at the process state.
is_alive() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

now_ns() { date +%s%N; }

# apt-get through sudo when not root, as scripts/install-deps does. Only for the benchmark's own tools,
# which the service and its tests do not need.
apt_install() {
    local -a sudo=()
    if ! is_root; then
        command -v sudo >/dev/null 2>&1 || die "not root and sudo is not installed: install $* yourself"
        sudo=(sudo)
    fi
    log "installing: $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q update >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q -y \
        --no-install-recommends install "$@" >&2
}

# tool=package pairs; installs the packages of the tools that are missing.
ensure_tools() {
    local pair tool pkg
    local -a missing=()
    for pair in "$@"; do
        tool=${pair%%=*} pkg=${pair#*=}
        command -v "$tool" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
    for pair in "$@"; do
        command -v "${pair%%=*}" >/dev/null 2>&1 || die "${pair%%=*} is still missing after installing ${pair#*=}"
    done
}

# The release binaries. Built (scripts/build, as make build does) only when missing: rebuilding is the
# developer's business.
ensure_binaries() {
    local exe
    for exe in notes-supervisor notes-worker notes-null-responder; do
        if [[ ! -x $BIN_DIR/$exe ]]; then
            [[ $BIN_DIR == "$ROOT/.build/release" ]] || die "$BIN_DIR/$exe is missing"
            log "$exe is missing: building release binaries once"
            if [[ -x $SCRIPTS/build ]]; then "$SCRIPTS/build"; else (cd "$ROOT" && swift build -c release >&2); fi
            break
        fi
    done
    for exe in notes-supervisor notes-worker notes-null-responder; do
        [[ -x $BIN_DIR/$exe ]] || die "$BIN_DIR/$exe is missing after the build"
    done
    # SwiftPM relinks only what changed, so compare the sources with the newest of the binaries.
    local newest newer
    newest=$(ls -t "$BIN_DIR"/notes-{supervisor,worker,null-responder} | head -n 1)
    newer=$(find "$ROOT/Sources" "$ROOT/Package.swift" -type f -newer "$newest" -print -quit 2>/dev/null || true)
    [[ -z $newer ]] || log "warning: $newer is newer than the binaries: run 'make build' to measure the current code"
}

# Percentage of CPU time idle over one second (all CPUs): the benchmark owns the machine, or its
# numbers mean little.
cpu_idle_percent() {
    local a b
    a=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}

# The machine's CPU time so far, in clock ticks, from /proc/stat's cpu line: "busy steal all", busy being
# user + nice + system + irq + softirq, and steal the time the hypervisor gave this VM's CPUs to others.
cpu_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# Two free TCP ports on 127.0.0.1 (asked of the kernel, both held until both are known).
free_ports() {
    python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
PY
}

make_state() {
    # Short path: the unix sockets under it must fit in sun_path (108 bytes).
    STATE=$(mktemp -d "${TMPDIR:-/tmp}/notes-bench.XXXXXX")
    chmod 755 "$STATE" # as root nginx's workers (www-data) must reach the socket, PostgreSQL its cluster
    mkdir -p "$STATE/run" "$STATE/logs" "$STATE/out"
    chmod 755 "$STATE/run"
}

start_database() {
    log "starting PostgreSQL in $STATE/pg"
    STARTED_CLUSTER=$STATE/pg
    DATABASE_URL=$("$SCRIPTS/pg-cluster" start "$STATE/pg")
    export DATABASE_URL
    log "migrating"
    "$BIN_DIR/notes-worker" migrate >>"$STATE/logs/migrate.log" 2>&1 || {
        cat "$STATE/logs/migrate.log" >&2
        die "notes-worker migrate failed"
    }
}

psql_run() { psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"; }

# SCALE notes (10,000 by default) with a text of the size the scenarios write (NOTE_TEXT), half of them completed.
seed_notes() {
    log "seeding $SEED_NOTES notes"
    fill_notes
}

fill_notes() {
    psql_run -c "TRUNCATE notes RESTART IDENTITY" \
        -c "INSERT INTO notes (text, completed)
            SELECT format('$NOTE_TEXT', g, g % 1000, g % $NOTE_TAGS), g % 2 = 0
            FROM generate_series(1, $SEED_NOTES) AS g" \
        -c "VACUUM ANALYZE notes, note_totals" >/dev/null
}

# Back to the seeded table before every run. Creates add rows (and every list page skips more of them);
# updates leave dead row versions (and the seed's 10,000 trigger updates of one note_totals row leave
# as many dead versions there until vacuumed), and a plain VACUUM does not shrink the table or its indexes: after
# one PUT scenario (~150,000 updates of 10,000 rows) every list page read many more pages than before. So
# the table is emptied and seeded again, which leaves it as compact as at the start, then CHECKPOINT so
# no run pays for the previous run's dirty pages.
reset_notes() {
    fill_notes
    psql_run -c "CHECKPOINT" >/dev/null
}

start_nginx() {
    local ports
    ports=$(free_ports)
    read -r HTTP_PORT STATIC_PORT <<<"$ports"
    "$SCRIPTS/nginx-local" render "$STATE" "$HTTP_PORT" "unix:$STATE/run/notes.sock" "" >/dev/null
    # The bench-only server goes next to the rendered site, inside the same http block.
    sed "s/@STATIC_PORT@/$STATIC_PORT/" "$BENCH_DIR/nginx/bench-static.conf" >"$STATE/nginx/bench-static.conf"
    local main=$STATE/nginx/nginx.conf
    grep -q "include $STATE/nginx/notes-site.conf;" "$main" || die "unexpected $main: no include of notes-site.conf"
    sed -i "s|^\(\s*\)include $STATE/nginx/notes-site.conf;|&\n\1include $STATE/nginx/bench-static.conf;|" "$main"
    log "starting nginx on 127.0.0.1:$HTTP_PORT (site) and 127.0.0.1:$STATIC_PORT (bench static)"
    STARTED_NGINX=$STATE
    "$SCRIPTS/nginx-local" start "$STATE"
}

# The supervisor's direct children are its workers.
worker_pids() {
    [[ -n $SUPERVISOR_PID ]] || return 0
    local f
    for f in /proc/"$SUPERVISOR_PID"/task/*/children; do
        cat "$f" 2>/dev/null
    done | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n || true
}

# "total idle busy starting restarts" from /status (answered by a worker, through nginx), in its
# Prometheus form, read with awk: the pool's start-up time is polled with this, and python3 alone takes
# 100-150 ms to start on the benchmark machine, which made that time a multiple of it (and, on a busy
# machine, over a second).
pool_status() {
    curl -s -m 2 "http://127.0.0.1:$HTTP_PORT/status?format=prometheus" | awk '
        /^notes_workers\{/ { split($1, label, "\""); count[label[2]] = $2; total += $2; seen = 1 }
        /^notes_worker_restarts_total\{/ { restarts += $2 }
        END {
            if (!seen) exit 1
            print total, count["idle"] + 0, count["busy"] + 0, count["starting"] + 0, restarts + 0
        }'
}

# Starts notes-supervisor with N workers of BINARY on $STATE/run/notes.sock (POOL_FLAGS instead of
# `--workers N` when set, e.g. an adaptive pool whose minimum is N) and returns once all N accept,
# as /status through nginx sees them (idle or busy, none starting). Sets POOL_START_MS: the
# time from starting the supervisor to that moment (polled every 10 ms, so good to about ±15 ms).
# The null responder has no /status (it answers its fixed body to everything) and does not write the
# scoreboard: for it (READY=first-answer) the wait ends at the first 200 through nginx, plus 0.5 s.
POOL_START_MS=''
# shellcheck disable=SC2034 # POOL_START_MS is read by bench/run
start_supervisor() {
    local workers=$1 binary=$2
    shift 2
    local ready=${READY:-status}
    local sock=$STATE/run/notes.sock t0 deadline status total idle busy starting _
    local -a group=() pool=(--workers "$workers")
    [[ -z ${POOL_FLAGS:-} ]] || read -ra pool <<<"$POOL_FLAGS"
    if is_root; then
        # The supervisor switches to the service account (scripts/install-deps), which removes the socket
        # when it stops.
        group=(--socket-group www-data --user notes)
        chown notes: "$STATE/run"
    fi
    rm -f "$sock"
    t0=$(now_ns)
    setsid "$BIN_DIR/notes-supervisor" --listen "unix:$sock" "${pool[@]}" "${group[@]}" \
        --worker-binary "$binary" "$@" </dev/null >>"$STATE/logs/supervisor.log" 2>&1 &
    SUPERVISOR_PID=$!
    deadline=$((t0 + 60 * 1000000000))
    while true; do
        is_alive "$SUPERVISOR_PID" || {
            tail -n 20 "$STATE/logs/supervisor.log" >&2
            die "notes-supervisor exited during start-up"
        }
        if [[ $ready == first-answer ]]; then
            if [[ $(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/notes/1/") == 200 ]]; then
                POOL_START_MS=$((($(now_ns) - t0) / 1000000))
                sleep 0.5
                return 0
            fi
        elif status=$(pool_status) && [[ -n $status ]]; then
            read -r total idle busy starting _ <<<"$status"
            if ((total == workers && idle + busy == workers && starting == 0)); then
                POOL_START_MS=$((($(now_ns) - t0) / 1000000))
                return 0
            fi
        fi
        (($(now_ns) < deadline)) || {
            tail -n 20 "$STATE/logs/supervisor.log" >&2
            die "the pool of $workers did not accept within 60 s"
        }
        sleep 0.01
    done
}

# SIGTERM, then the supervisor's own graceful stop; SIGKILL to its process group only if it hangs.
stop_supervisor() {
    local pid=$SUPERVISOR_PID i
    [[ -n $pid ]] || return 0
    SUPERVISOR_PID=''
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 450; i++)); do
        is_alive "$pid" || break
        sleep 0.1
    done
    if is_alive "$pid"; then
        log "notes-supervisor $pid did not stop in time; killing its process group"
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    # Whatever is left in its process group would be a worker it failed to stop.
    kill -KILL -- "-$pid" 2>/dev/null || true
}

# "rss_kib pss_kib" of a process, from /proc/PID/smaps_rollup.
mem_of() {
    awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { if (r == "") exit 1; print r, p }' \
        "/proc/$1/smaps_rollup" 2>/dev/null
}

bench_cleanup() {
    trap '' INT TERM HUP # finish the stop in order even if Ctrl-C is pressed again
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    BG_PIDS=()
    if [[ -n $STARTED_NGINX ]]; then
        "$SCRIPTS/nginx-local" stop "$STARTED_NGINX" || true
        STARTED_NGINX=''
    fi
    stop_supervisor
    if [[ -n $STARTED_CLUSTER ]]; then
        "$SCRIPTS/pg-cluster" stop "$STARTED_CLUSTER" >/dev/null 2>&1 || true
        STARTED_CLUSTER=''
    fi
    if [[ -n $STATE && -d $STATE ]]; then
        if [[ ${KEEP_STATE:-0} == 1 ]]; then
            log "kept $STATE (KEEP_STATE=1)"
        else
            rm -rf "$STATE"
        fi
        STATE=''
    fi
}

bench_traps() {
    trap bench_cleanup EXIT
    trap 'log "interrupted: stopping"; bench_cleanup; exit 130' INT
    trap 'log "terminated: stopping"; bench_cleanup; exit 143' TERM HUP
}
