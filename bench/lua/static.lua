-- nginx's own ceiling: the bench-only server's fixed note-sized body (bench/nginx/bench-static.conf).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return wrk.format("GET", "/bench/static") end
