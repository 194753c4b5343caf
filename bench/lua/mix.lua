-- The mix: exactly 80% GET by id, 10% list, 10% create, interleaved (8 gets, a list, a create, ...).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function bench.build(k)
    local slot = k % 10
    if slot == 8 then return bench.list() end
    if slot == 9 then return bench.create() end
    return bench.get()
end
