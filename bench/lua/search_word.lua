-- GET /notes/?q=w{n}&take=20: a search for a word in 0.1% of the notes (10 of 10,000, 1,000 of 1,000,000).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return bench.search_word() end
