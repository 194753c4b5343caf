-- GET /notes/?take=20: the first page, with its X-Total-Count.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return bench.first() end
