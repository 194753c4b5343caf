-- GET {the next link of a page at the deep pages' depth}: the same depth as deep.lua, reached by cursor. The
-- links (one path per line, from the Link headers of deep pages) are in the file BENCH_CURSOR_FILE, which
-- bench/run writes before the run.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local paths = {}
for line in io.lines(os.getenv("BENCH_CURSOR_FILE")) do
    if line ~= "" then paths[#paths + 1] = line end
end
function bench.build(k) return wrk.format("GET", paths[(k % #paths) + 1]) end
