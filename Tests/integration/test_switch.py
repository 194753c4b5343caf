"""Issue 15, point 7: the switch from the FastAPI notes tutorial to our pool without downtime, as docs/OPERATIONS.md's
runbook ("Switching from a FastAPI app without downtime") does it: under a steady load through nginx, `notes-worker
migrate` adopts the old app's table while it serves, our pool starts, nginx's API location moves from the old app to
the pool with `nginx -s reload`, and the old app stops once nginx's old workers are gone. No request fails; rows the
old app wrote after the adoption are in our API with the right X-Total-Count, and rows ours wrote are in the old
app's GET /notes/.

The old app is the re-created tutorial (Tests/differential/notes_app.py: `databases` over asyncpg, whose cached
prepared statements fail once per connection when a result column changes type) under uvicorn from the venv of
scripts/differential-venv."""

import json
import time

import pytest

from harness.assertions import assert_json, assert_load_clean, assert_note, total_count
from harness.differential import Original
from harness.http import Client, http_request
from harness.nginx import proxied_to
from harness.postgres import migrate
from harness.processes import SCRIPTS_DIR, process_alive, run, wait_until

WORKERS = 2


@pytest.fixture(scope="module")
def venv_python() -> str:
    return run([SCRIPTS_DIR / "differential-venv"], timeout=900).stdout.strip().splitlines()[-1]


def ours(result) -> bool:
    """Whether an answer to a POST came from our pool: the tutorial's notes have no times."""
    return "created_at" in json.loads(result.body)


def test_the_switch_from_the_tutorial_app_under_load_fails_no_request(launcher, cluster, fresh_db, venv_python):
    db = fresh_db
    log_start = cluster.log_size()
    old = launcher.add(Original(venv_python, "notes", db.url, launcher.tmp_root / "tutorial.log")).wait_ready("/notes/")
    sup = launcher.supervisor(db, "pool", workers=WORKERS, start=False)
    # Before the switch the site sends the API to the old app; everything else is notes.conf's.
    nginx = launcher.nginx(sup.fastcgi_addr, edit_site=proxied_to(f"127.0.0.1:{old.port}"))
    client = Client(nginx.port)
    for i in range(5):  # the rows the tutorial app wrote before
        assert_json(client.post("/notes/", {"text": f"before {i}", "completed": i % 2 == 0}), 201)

    load = launcher.load(nginx.port, connections=4, max_requests=100_000)
    load.wait_for(100)

    # 1. Adoption while the old app serves: its requests wait for the table lock, none fails.
    migrate(launcher.bin_dir, db.url)
    adopted = time.monotonic()
    assert db.query("SELECT version FROM schema_adoptions") == [["1"]]
    load.wait_more(200)
    # The adoption kept the result types of the old app's statements: none of its cached plans was refused (asyncpg
    # prepares again outside a transaction, which hid it from this app, but fails a client inside one).
    assert "cached plan must not change result type" not in cluster.log_since(log_start)

    # 2. Our pool, on the adopted database, before any traffic reaches it.
    sup.start()
    assert total_count(sup.fastcgi("GET", "/notes/")) > 0

    # 3. nginx's API location to the pool; the old workers finish what they have, new connections go to the pool.
    old_workers = nginx.reload()
    switched = time.monotonic()
    wait_until(lambda: client.get("/notes/?take=1").header("X-Total-Count") is not None, 30,
               what=lambda: f"nginx to answer from the pool\n{nginx.log_text()}")
    load.wait_started_after(switched, 200)

    # Both serve the same rows: what ours wrote is in the old app's list and its GET by id.
    our_posts = [r for r in load.results_so_far() if r.method == "POST" and r.status == 201 and ours(r)]
    assert our_posts, "no note was created by the pool after the switch"
    theirs = {n["id"]: n for n in assert_json(http_request(old.port, "GET", "/notes/?take=1000000"), 200)}
    for r in our_posts:
        note = json.loads(r.body)
        assert note["id"] in theirs, f"note {note['id']} written by the pool is not in the old app's list"
        assert assert_json(http_request(old.port, "GET", f"/notes/{note['id']}/"), 200)["id"] == note["id"]

    # 4. The old app stops once no nginx worker can still be sending it a request.
    wait_until(lambda: not any(process_alive(pid) for pid in old_workers), 60,
               what=lambda: f"nginx's old workers {sorted(old_workers)} to exit\n{nginx.log_text()}")
    old.close()
    load.wait_more(100)
    report = load.stop()
    assert_load_clean(report, f"--- tutorial app\n{old.log()}\n--- pool\n{sup.log()}\n--- nginx\n{nginx.log_text()}")

    # What the old app wrote after the adoption is ours to serve, counted in the totals.
    posts = [r for r in report.results if r.method == "POST"]
    theirs_after = [json.loads(r.body) for r in posts if r.started > adopted and not ours(r)]
    assert theirs_after, "the old app created no note after the adoption"
    last_text = {}  # each note is written by the one load thread that created it, in turn
    for r in report.results:
        if r.method == "POST":
            last_text[json.loads(r.body)["id"]] = r.text
        elif r.method == "PUT":
            last_text[int(r.path.split("/")[2])] = r.text
    for note in theirs_after:
        assert_note(assert_json(client.get(f"/notes/{note['id']}/"), 200), text=last_text[note["id"]])
    (count, completed), = db.query("SELECT count(*), count(*) FILTER (WHERE completed) FROM notes")
    assert int(count) == 5 + len(posts)
    assert total_count(client.get("/notes/")) == int(count)
    assert total_count(client.get("/notes/?completed=true")) == int(completed)
    assert total_count(client.get("/notes/?completed=false")) == int(count) - int(completed)
