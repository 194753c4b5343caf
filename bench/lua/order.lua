-- GET /notes/?order=-created_at&take=20: the newest notes first.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return bench.order() end
