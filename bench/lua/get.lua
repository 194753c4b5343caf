-- GET /notes/{random id}/: one of the 10,000 seeded notes.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return bench.get() end
