-- The table written the way clients write it: POST /notes/ of notes 1 to SCALE (BENCH_SEED_NOTES), each
-- thread its share (thread t of T writes notes t, t + T, t + 2T, ...), with the texts and flags of the SQL seeding
-- (bench.text). A thread stops when all its notes are created, or 2,000 answers after it sent its last create (a
-- create that got no 201: bench/run finds the notes missing and creates them one by one). Requests are made one by
-- one here, not from a ring: this is not measured.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local threads = tonumber(os.getenv("BENCH_THREADS"))
local next_k, created, share, after_last = 0, 0, 0, 0

function init(args)
    share = tid <= bench.SEED and math.floor((bench.SEED - tid) / threads) + 1 or 0
end

function request()
    local n = next_k * threads + tid
    if n > bench.SEED then return wrk.format("GET", "/healthz") end
    next_k = next_k + 1
    return wrk.format("POST", "/notes/", bench.json,
        '{"text":"' .. bench.text(n) .. '","completed":' .. (n % 2 == 0 and "true" or "false") .. '}')
end

function response(status, headers, body)
    if status == 201 then created = created + 1 else after_last = after_last + 1 end
    if created >= share or after_last > 2000 then wrk.thread:stop() end
end
