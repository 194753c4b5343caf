-- GET /notes/?q=tag{n}&take=20: a search for a tag, which 100 notes have at any SCALE.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return bench.search() end
