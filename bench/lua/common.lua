-- Shared by the scenario scripts, which load it with dofile and then define bench.build(k): the k-th
-- request of a thread's ring (a string from wrk.format). Each thread builds its ring once in init(), so
-- during the run request() only hands out a prepared string and the Lua cost per request stays tiny.
-- done() prints one machine-readable line that bench/run reads: requests/s, latency percentiles (wrk
-- keeps every latency in a histogram, so p50/p99 are exact to the microsecond) and every kind of error.
bench = {}
bench.SEED = tonumber(os.getenv("BENCH_SEED_NOTES") or "10000")
-- bench/lib.sh's NOTE_TEXT and NOTE_TAGS: the text of seeded note n, as the SQL seeding writes it.
bench.NOTE_TEXT = os.getenv("BENCH_NOTE_TEXT") or "note %s about w%s and tag%s, of the size the benchmark writes"
bench.TAGS = math.floor(bench.SEED / 100)
function bench.text(n) return string.format(bench.NOTE_TEXT, n, n % 1000, n % bench.TAGS) end
-- The depth of the deep pages: 99% into the table (skip 990,000 of 1,000,000; 9,900 of 10,000).
bench.DEPTH = bench.SEED - math.floor(bench.SEED / 100)
bench.RING = 8192
bench.json = { ["Content-Type"] = "application/json" }

local counter = 0
function setup(thread)
    counter = counter + 1
    thread:set("tid", counter)
end

local ring, size, i = {}, 0, 0
function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
    for k = 1, bench.RING do
        ring[k] = bench.build(k)
    end
    size = bench.RING
end

function request()
    i = i + 1
    if i > size then i = 1 end
    return ring[i]
end

function bench.get() return wrk.format("GET", "/notes/" .. math.random(1, bench.SEED) .. "/") end
function bench.list() return wrk.format("GET", "/notes/?skip=" .. math.random(0, bench.SEED - 20) .. "&take=20") end
function bench.first() return wrk.format("GET", "/notes/?take=20") end
function bench.deep() return wrk.format("GET", "/notes/?skip=" .. math.random(bench.DEPTH - 100, bench.DEPTH) .. "&take=20") end
function bench.search() return wrk.format("GET", "/notes/?q=tag" .. math.random(0, bench.TAGS - 1) .. "&take=20") end
function bench.search_word() return wrk.format("GET", "/notes/?q=w" .. math.random(0, 999) .. "&take=20") end
function bench.order() return wrk.format("GET", "/notes/?order=-created_at&take=20") end
function bench.create()
    return wrk.format("POST", "/notes/", bench.json,
        '{"text":"a note of about the size the benchmark writes","completed":false}')
end
function bench.update()
    return wrk.format("PUT", "/notes/" .. math.random(1, bench.SEED) .. "/", bench.json,
        '{"text":"an updated note of about the same size","completed":true}')
end

-- wrk counts a status of 400 or more as a "Non-2xx or 3xx response" (errors.status); socket errors are
-- connect, read, write and timeout (no answer within wrk's --timeout).
function done(summary, latency, requests)
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
        "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
        summary.requests, seconds, summary.requests / seconds,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
        latency.max / 1000, e.status, e.connect, e.read, e.write, e.timeout))
end
