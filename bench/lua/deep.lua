-- GET /notes/?skip={99% of the notes}&take=20: a page deep in the table, reached by skip.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return bench.deep() end
