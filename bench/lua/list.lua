-- GET /notes/?skip={random}&take=20: a page of 20 anywhere in the 10,000 seeded notes.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return bench.list() end
