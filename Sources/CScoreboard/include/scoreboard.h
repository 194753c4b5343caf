#ifndef NOTES_SCOREBOARD_H
#define NOTES_SCOREBOARD_H

// The layout of the scoreboard the supervisor shares with its workers (one memory mapping, inherited as a file
// descriptor). It is defined in C so that both sides agree on it byte for byte, and so that the seqlock below can
// use C11 atomics on memory that lives outside Swift's ownership model.

#include <sched.h>
#include <stdint.h>

#define NOTES_SCOREBOARD_MAGIC 0x4e4f5445u /* "NOTE" */
#define NOTES_SCOREBOARD_SLOTS 512
#define NOTES_METHOD_BYTES 16
#define NOTES_PATH_BYTES 256
#define NOTES_LISTEN_BYTES 128
#define NOTES_REQUEST_ID_BYTES 40  /* nginx's $request_id (32 hex digits) and a NUL */
#define NOTES_STATEMENT_BYTES 64   /* a prepared statement's name, for the slow-request log */
#define NOTES_METRIC_ROUTES 48     /* route indexes the workers count by; the status renderer names them */
#define NOTES_METRIC_STATUSES 24   /* status indexes, likewise */
#define NOTES_LABEL_BYTES 4096   /* the counters' names as text (notes_metrics.labels) */
#define NOTES_METRIC_BUCKETS 16    /* duration buckets, the last one unbounded (+Inf) */

enum notes_worker_state {
    NOTES_STATE_FREE = 0,
    NOTES_STATE_STARTING = 1,
    NOTES_STATE_IDLE = 2,
    NOTES_STATE_BUSY = 3,
    NOTES_STATE_RETIRING = 4,
};

enum notes_exit_reason {
    NOTES_EXIT_NONE = 0,
    NOTES_EXIT_MAX_REQUESTS = 1,
    NOTES_EXIT_REQUEST_TIMEOUT = 2,
};

enum notes_restart_cause {
    NOTES_RESTART_CRASHED = 0,
    NOTES_RESTART_TIMEOUT = 1,
    NOTES_RESTART_MAX_REQUESTS = 2,
    NOTES_RESTART_RELOAD = 3,
    NOTES_RESTART_SCALED_DOWN = 4,
    NOTES_RESTART_MAX_RSS = 5,
    NOTES_RESTART_MAX_LIFETIME = 6,
    NOTES_RESTART_CAUSES = 7,
};

/// One worker's row, written only by that worker (and cleared by the supervisor while no worker owns it).
typedef struct {
    uint32_t sequence; /* odd while the worker is writing: readers retry */
    int32_t pid;
    uint32_t generation;
    uint32_t state;
    uint32_t exit_reason;
    uint32_t reserved;
    uint64_t requests;
    uint64_t request_started_ns; /* CLOCK_MONOTONIC */
    uint64_t last_request_ns;    /* duration of the last finished request */
    uint64_t heartbeat_ns;       /* CLOCK_MONOTONIC: last sign of life while not busy (the watchdog's) */
    /* CLOCK_MONOTONIC: when the worker began waiting on PostgreSQL for `statement` (and `statements` - 1
       more sent with it); 0 while it does not wait on the database */
    uint64_t statement_started_ns;
    uint32_t statements;
    /* 1 from the end of a batch until its answers are written out: the requests are counted and the worker
       shows idle (so one client's back-to-back requests never look like a busy pool), but they are still in hand */
    uint32_t answering;
    char method[NOTES_METHOD_BYTES];
    char path[NOTES_PATH_BYTES];
    char request_id[NOTES_REQUEST_ID_BYTES];
    char statement[NOTES_STATEMENT_BYTES];
} notes_worker_slot;

/// Saturation and request counters, shared by every process: counters only grow (atomic adds), so a worker that
/// dies takes nothing with it and nobody waits on anybody.
typedef struct {
    /* the listening socket's accept queue, sampled by the supervisor (its only writer) */
    uint64_t listen_queue;
    uint64_t listen_queue_max;
    uint64_t listen_backlog;
    /* connections the database still takes (max_connections less the reserved ones and every client backend),
       plus one, 0 before any reading: written by each worker once it has connected, read by the supervisor's
       adaptive pool */
    uint64_t database_room_plus_one;
    /* accepting workers (high 32 bits) and busy ones (low 32 bits) in one word, so that one atomic add tells
       its caller whether it made every accepting worker busy, or ended that */
    uint64_t pool_occupancy;
    uint64_t saturated_total;
    /* nanoseconds saturated: each start subtracts its CLOCK_MONOTONIC time, each end adds its own, so the
       two need no order between processes; a reader adds now while saturated */
    int64_t saturated_ns;
    /* what each slot's worker adds to pool_occupancy now (written by that worker; taken back by the
       supervisor when it releases the slot, so a worker that dies busy leaves no busy count behind) */
    uint64_t occupancy_share[NOTES_SCOREBOARD_SLOTS];
    uint64_t requests[NOTES_METRIC_ROUTES][NOTES_METRIC_STATUSES];
    uint64_t duration_buckets[NOTES_METRIC_ROUTES][NOTES_METRIC_BUCKETS];
    uint64_t duration_ns_sum[NOTES_METRIC_ROUTES];
    /* the counters' names, for the supervisor's status page: route names, an empty line, status names, each
       line ended by a newline, NUL-terminated; written by every worker at start with the same text (a reader
       racing a writer reads the same bytes) */
    char labels[NOTES_LABEL_BYTES];
} notes_metrics;

/// The supervisor's part, written only by the supervisor.
typedef struct {
    uint32_t magic;
    int32_t supervisor_pid;
    uint32_t generation;
    uint32_t target_workers;
    int64_t started_at_unix_us;
    uint64_t retired_requests; /* requests served by workers that are gone */
    uint64_t restarts[NOTES_RESTART_CAUSES];
    /* One more than the highest slot index ever prepared: readers scan no further, so a /status touches the
       pages of the slots in use, not the whole 160 KiB board (each page read counts in the reader's RSS). */
    uint64_t slots_used;
    char listen[NOTES_LISTEN_BYTES];
    notes_worker_slot slots[NOTES_SCOREBOARD_SLOTS];
    notes_metrics metrics;
} notes_scoreboard;

// Swift imports a C array as a tuple, and the runtime builds a tuple's type metadata the first time Swift code
// needs it: for the 4 KiB label buffer a 4,096-element tuple, about 270 KiB of heap left in every worker. These
// hand Swift plain pointers to the arrays instead.
static inline char *notes_metrics_labels(notes_metrics *metrics) { return metrics->labels; }
static inline uint64_t *notes_metrics_requests(notes_metrics *metrics) { return &metrics->requests[0][0]; }
static inline uint64_t *notes_metrics_duration_buckets(notes_metrics *metrics) { return &metrics->duration_buckets[0][0]; }
static inline uint64_t *notes_metrics_duration_ns_sum(notes_metrics *metrics) { return metrics->duration_ns_sum; }
static inline uint64_t *notes_metrics_occupancy_share(notes_metrics *metrics) { return metrics->occupancy_share; }
static inline notes_worker_slot *notes_scoreboard_slots(notes_scoreboard *board) { return board->slots; }
static inline notes_metrics *notes_scoreboard_metrics(notes_scoreboard *board) { return &board->metrics; }
static inline uint64_t *notes_scoreboard_restarts(notes_scoreboard *board) { return board->restarts; }

static inline void notes_slot_begin_write(notes_worker_slot *slot) {
    __atomic_fetch_add(&slot->sequence, 1, __ATOMIC_ACQ_REL);
}

static inline void notes_slot_end_write(notes_worker_slot *slot) {
    __atomic_fetch_add(&slot->sequence, 1, __ATOMIC_RELEASE);
}

/// Copies a consistent snapshot of a slot, retrying while a writer is in the middle of an update.
/// Between tries the reader yields its CPU: a writer preempted mid-update (two cores, a loaded machine) then
/// gets to finish, where spinning alone ran out of tries and returned a torn copy (a busy worker whose path was
/// still empty, seen by test_reload.py under AddressSanitizer). Gives up after a bounded number of tries all
/// the same: a writer killed mid-update leaves an odd sequence forever.
static inline void notes_slot_read(const notes_worker_slot *slot, notes_worker_slot *copy) {
    for (int attempt = 0; attempt < 1000; attempt++) {
        uint32_t before = __atomic_load_n(&slot->sequence, __ATOMIC_ACQUIRE);
        __builtin_memcpy(copy, (const void *)slot, sizeof *copy);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint32_t after = __atomic_load_n(&slot->sequence, __ATOMIC_RELAXED);
        if (before == after && (before & 1u) == 0) return;
        sched_yield();
    }
}

/// The supervisor's one write to a slot its worker may already be writing: the pid alone, in one atomic store
/// outside the sequence (two writers must never share it), and the same value the worker writes when ready.
static inline void notes_slot_publish_pid(notes_worker_slot *slot, int32_t pid) {
    __atomic_store_n(&slot->pid, pid, __ATOMIC_RELEASE);
}

static inline void notes_counter_add(uint64_t *counter, uint64_t amount) {
    __atomic_fetch_add(counter, amount, __ATOMIC_RELAXED);
}

/// Adds `delta` to the pool's occupancy word and keeps the saturation counters: a change that makes every
/// accepting worker busy starts a saturation, one that ends that ends it. Returns 1 when it started one.
static inline int notes_occupancy_add(notes_metrics *metrics, int64_t delta, int64_t now_ns) {
    uint64_t before = __atomic_fetch_add(&metrics->pool_occupancy, (uint64_t)delta, __ATOMIC_ACQ_REL);
    uint64_t after = before + (uint64_t)delta;
    uint32_t accepting_before = (uint32_t)(before >> 32), busy_before = (uint32_t)before;
    uint32_t accepting_after = (uint32_t)(after >> 32), busy_after = (uint32_t)after;
    int was = accepting_before > 0 && busy_before >= accepting_before;
    int is = accepting_after > 0 && busy_after >= accepting_after;
    if (!was && is) {
        __atomic_fetch_add(&metrics->saturated_total, 1, __ATOMIC_RELAXED);
        __atomic_fetch_sub(&metrics->saturated_ns, now_ns, __ATOMIC_RELAXED);
        return 1;
    }
    if (was && !is) __atomic_fetch_add(&metrics->saturated_ns, now_ns, __ATOMIC_RELAXED);
    return 0;
}

static inline int64_t notes_signed_load(const int64_t *value) {
    return __atomic_load_n(value, __ATOMIC_RELAXED);
}

static inline void notes_counter_store(uint64_t *counter, uint64_t value) {
    __atomic_store_n(counter, value, __ATOMIC_RELAXED);
}

static inline uint64_t notes_counter_load(const uint64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/// Raises the slot bound before the supervisor prepares a slot beyond it (the supervisor is its only writer);
/// the release pairs with the reader's acquire, so a reader that sees the bound sees the prepared slots below it.
static inline void notes_slots_used_raise(uint64_t *bound, uint64_t at_least) {
    if (__atomic_load_n(bound, __ATOMIC_RELAXED) < at_least) __atomic_store_n(bound, at_least, __ATOMIC_RELEASE);
}

static inline uint64_t notes_slots_used_load(const uint64_t *bound) {
    return __atomic_load_n(bound, __ATOMIC_ACQUIRE);
}

#endif
