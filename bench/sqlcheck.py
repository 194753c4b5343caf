#!/usr/bin/env python3
"""Does a pgbench script run the statement a worker sent? Used by bench/run.

    sqlcheck.py WORKER_SQL_FILE PGBENCH_SCRIPT    exit 0 when they match, 1 (and both, normalised) when not

Both are reduced to the same form: E'...' escapes decoded (the scripts write ':' as \\072, since pgbench takes
':name' for a variable), parameters ($n, :name, NULL::boolean, NULL::bigint[], gen_random_uuid()), text literals other than the timestamp format
and 'UTC', and integer literals become '?'; whitespace is collapsed and the trailing ';' dropped. What is left
is the statement's shape, which must be identical.
"""
import re
import sys


def statement(script: str) -> str:
    lines = [l for l in script.splitlines() if not l.lstrip().startswith(("--", "\\"))]
    return " ".join(lines)


def normalise(sql: str) -> str:
    sql = re.sub(r"\bE'((?:[^']|'')*)'", lambda m: "'" + re.sub(r"\\([0-7]{3})", lambda o: chr(int(o.group(1), 8)), m.group(1)) + "'", sql)
    out, parts = [], re.split(r"('(?:[^']|'')*')", sql)
    for i, part in enumerate(parts):
        if i % 2:  # a string literal
            out.append(part if ("YYYY" in part or part == "'UTC'") else "?")
            continue
        part = re.sub(r"\$\d+(::boolean)?", "?", part)
        part = re.sub(r"NULL::boolean", "?", part)
        part = re.sub(r"NULL::bigint\[\]", "?::bigint[]", part)  # If-Match's versions, none given
        part = re.sub(r"gen_random_uuid\(\)", "?", part)  # pgbench's stand-in for nginx's $request_id
        part = re.sub(r"(?<![:\w]):[A-Za-z_]\w*", "?", part)
        part = re.sub(r"\b\d+\b", "?", part)
        out.append(part)
    return re.sub(r"\s+", " ", "".join(out)).strip().rstrip(";").strip()


def main() -> int:
    worker = normalise(open(sys.argv[1]).read())
    bench = normalise(statement(open(sys.argv[2]).read()))
    if worker == bench:
        return 0
    print(f"worker : {worker}\npgbench: {bench}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
