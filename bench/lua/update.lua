-- PUT /notes/{random id}/ with a note-sized JSON body.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k) return bench.update() end
