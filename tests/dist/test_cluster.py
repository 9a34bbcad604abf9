# SPDX-License-Identifier: MIT
"""System test of issue 8's whole path (doc/dist.md, doc/metrics.md): a
real nats-server, three `reel worker`s, a reeld session recording the
kernel workload (tests/kernel/kworkload.c) with timer rotation and
`--publish`, and a follower `reel analyze syscalls --follow --engine URL
--metrics` of the chunks reeld announces, which the workers map; one worker is
killed with SIGKILL while it holds a task; a real Prometheus scrapes the
follower, and its numbers equal a local sequential analysis (`-j 1`) of
the same chunks, as do the follower's own report and the batch analysis
of the announced chunks (`--engine URL --session NAME`).

The broker and worker helpers are test_dist.py's, the Prometheus and
follower helpers test_follow.py's. Root, tracefs, nats-server and
prometheus only (skips otherwise, saying which).
"""
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "analysis"))
from test_dist import NATS, Broker, Worker, free_port, rotations, wait_until  # noqa: E402
from test_follow import (N, PROMETHEUS, Follower, Prometheus, batch, check_syscalls,  # noqa: E402
                         metric, sel)
from test_kernel import REEL, Daemon, _why_not, kworkload, stop_and_check  # noqa: E402


def cleanup(*steps):
    """Run every step, even after one fails (a daemon, broker or worker
    must not outlive the test); raise the first failure."""
    first = None
    for step in steps:
        try:
            step()
        except BaseException as e:  # noqa: B902
            first = first or e
    if first:
        raise first


def kill(proc):
    """SIGKILL: the slow worker sleeps in its task and would not stop."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def stop_workers(workers):
    """Their stops: SIGTERM (checked), the slow one (worker-slow.log) SIGKILL."""
    return [(lambda w=w: kill(w.proc)) if w.log.name == "worker-slow.log" else w.stop for w in workers]


def analyze(*args):
    return subprocess.run([str(REEL), "analyze", "--quiet"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


def test_follow_engine_errors(tmp_path):
    """No broker at URL: a clear error at start, exit 1, following an
    output directory or the announcements; --follow needs one or the
    other; --session goes with the announcements only."""
    url = f"nats://127.0.0.1:{free_port()}"
    for follow in (["--follow", tmp_path], ["--follow"], ["--follow", "--session", "s"]):
        p = analyze("syscalls", *follow, "--engine", url, "--metrics", "127.0.0.1:0")
        assert p.returncode == 1 and "cannot reach the broker at " + url in p.stderr, p.stderr
        assert "Serving the metrics" not in p.stderr
    p = analyze("syscalls", "--follow", tmp_path, "--engine", url, "--session", "s")
    assert p.returncode != 0 and "--session follows the broker's announcements" in p.stderr, p.stderr
    p = analyze("syscalls", "--follow")
    assert p.returncode != 0 and "--follow needs the session's output directory" in p.stderr, p.stderr
    p = analyze("syscalls", "--follow", tmp_path, tmp_path)
    assert p.returncode != 0 and "one output directory" in p.stderr, p.stderr


@pytest.mark.skipif(NATS is None, reason="nats-server is not installed")
def test_follow_engine_failed_chunks(tmp_path):
    """Two announced chunks the workers cannot give a partial for: the
    first's task is given up by the server (its only delivery's worker
    killed, --max-deliver 1), the second is not a trace (the worker's error
    comes back). Both are counted as failed, merged as empty, and the
    follower goes on and reports on SIGTERM."""
    broker = Broker(tmp_path)
    workers, follower = [], None
    try:
        broker.start()
        out = tmp_path / "out"
        for i in range(2):
            c = out / "archives" / f"20260101T00000{i}+0000-20260101T00000{i + 1}+0000-{i}"
            c.mkdir(parents=True)
            (c / "metadata").write_text("not a trace\n")
        # the daemon's announcement marker, as reeld writes it
        (out / ".reel-archived.tmp").write_text(f"1 {c.name}\n")
        (out / ".reel-archived.tmp").rename(out / ".reel-archived")
        slow = Worker(tmp_path, broker.url, "slow", env={"REEL_WORKER_TEST_SLEEP_MS": "600000"},
                      args=["--max-deliver", "1"])
        workers.append(slow)
        slow.wait_for("taking tasks")
        follower = Follower("syscalls", out, "--engine", broker.url, "-j", "1")
        slow.wait_for(": mapping ")
        slow.proc.send_signal(signal.SIGKILL)
        slow.proc.wait()
        w = Worker(tmp_path, broker.url, "0", args=["--max-deliver", "1"])
        workers.append(w)
        wait_until(lambda: follower.chunks() == 2, "the failed chunks counted", timeout=120)
        assert metric(follower.metrics(), "reel_chunks_failed_total") == {frozenset(): 2.0}
        res, err = follower.finish()
        assert res["chunks"] == 2 and res["events"] == 0, res
        assert "max deliveries" in err and "counted as an empty chunk" in err, err
        assert "/metadata: metadata:1: " in err and "(worker " in err, err
    finally:
        cleanup(lambda: follower and follower.kill(), *stop_workers(workers), broker.stop)


@pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
@pytest.mark.skipif(NATS is None, reason="nats-server is not installed")
@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (make deps)")
def test_cluster(tmp_path):
    broker = Broker(tmp_path)
    d = Daemon(tmp_path)
    workers, follower, prom = [], None, None
    try:
        broker.start()
        # the first worker holds each task it takes (test-only sleep,
        # kept alive): started alone, it takes the first chunk's task
        slow = Worker(tmp_path, broker.url, "slow", env={"REEL_WORKER_TEST_SLEEP_MS": "600000"})
        workers.append(slow)
        slow.wait_for("taking tasks")
        d.start()
        work = tmp_path / "kw.txt"
        work.write_text("hello cluster\n")
        out = tmp_path / "trace"
        # the workload's syscalls (all of a busy machine's: too many series
        # for Prometheus to answer in time, test_follow.py)
        d.kernel_session("cluster", out, syscalls="openat,read,write,lseek,close,getppid,getuid,clone,wait4",
                         tid=True)
        d.reel("enable-rotation", "--timer", "1s", "--publish", broker.url)
        d.reel("start")
        wait_until(out.is_dir, "no output directory")
        # the command: the one session announcing at the broker
        follower = Follower("syscalls", None, "--engine", broker.url)
        inst = follower.address
        prom = Prometheus(tmp_path, [inst])  # scrapes it from now on
        pids = [kworkload(d, work, N)[0]]
        wait_until(lambda: len(rotations(d)["chunks"]) >= 1, "no rotation")
        slow.wait_for(": mapping ")
        # each chunk is a run of one task: the run names it
        taken = re.search(r"(task \d+ of run \w+): mapping ", slow.text()).group(1)
        for i in range(2):
            workers.append(Worker(tmp_path, broker.url, str(i)))
        others = workers[1:]
        for w in others:
            w.wait_for("taking tasks")
        # more chunks while the slow worker holds its task: the others map
        # them, the follower holds them behind the first one; then it dies
        for _ in range(2):
            pids.append(kworkload(d, work, N)[0])
            time.sleep(1.2)
        wait_until(lambda: metric(follower.metrics(), "reel_chunks_waiting")[frozenset()] >= 1,
                   "a chunk mapped by the others held behind the slow worker's")
        assert follower.chunks() == 0
        slow.proc.send_signal(signal.SIGKILL)
        slow.proc.wait()
        pids.append(kworkload(d, work, N)[0])
        before = len(rotations(d)["chunks"])
        wait_until(lambda: len(rotations(d)["chunks"]) > before, "no rotation after the last run")
        d.reel("stop")
        d.reel("rotate")  # what the timer had not archived
        wait_until(lambda: all(c["publish_status"] == 0 for c in rotations(d)["chunks"]),
                   f"chunks not announced: {rotations(d)}")
        rot = rotations(d)
        paths = [Path(c["path"]) for c in rot["chunks"]]
        assert len(paths) >= 4, rot
        assert sorted((out / "archives").iterdir()) == sorted(paths)
        # the follower has every chunk; the killed worker's task was redone
        wait_until(lambda: follower.chunks() == len(paths), "the follower's chunks", timeout=180)
        assert metric(follower.metrics(), "reel_chunks_failed_total") == {frozenset(): 0.0}
        assert any(f"{taken}: done," in w.text() for w in others), taken
        assert f"{taken}: done," not in slow.text()
        # what Prometheus scraped: the numbers are the local sequential ones
        wait_until(lambda: prom.query(sel("reel_chunks_total", inst)) == {frozenset(): float(len(paths))},
                   "a scrape", timeout=120)
        want = batch("syscalls", [p / "kernel" for p in paths], "-j", "1")
        assert want["chunks"] == len(paths)
        check_syscalls(prom, inst, want, pids)
        res, err = follower.finish()
        assert res == want, err
        assert "Following session 'cluster'" in err, err
        # the announced chunks, analysed by the workers
        p = analyze("syscalls", "--json", "--engine", broker.url, "--session", "cluster")
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == batch("syscalls", paths, "-j", "1")
        d.reel("destroy")
    finally:
        cleanup(lambda: follower and follower.kill(), lambda: prom and prom.stop(),
                *stop_workers(workers), lambda: stop_and_check(d), broker.stop)


@pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
@pytest.mark.skipif(NATS is None, reason="nats-server is not installed")
def test_follow_announcements(tmp_path):
    """--follow --engine URL follows reeld's announcements across a broker
    restart: chunks removed by the retention while the broker was away
    (never announced) are counted as failed and the result goes on; the
    session created again starts the result over, which ends equal to the
    local analysis of the new run's chunks. With two sessions announcing,
    --follow without --session names them."""
    broker = Broker(tmp_path)
    d = Daemon(tmp_path)
    workers, follower = [], None
    syscalls = "openat,read,write,lseek,close,getppid,getuid,clone,wait4"
    try:
        broker.start()
        workers.append(Worker(tmp_path, broker.url, "0"))
        d.start()
        work = tmp_path / "kw.txt"
        work.write_text("hello follower\n")

        def announced(n):
            wait_until(lambda: len(rotations(d)["chunks"]) >= n
                       and all(c["publish_status"] == 0 for c in rotations(d)["chunks"]),
                       f"chunks not announced: {rotations(d)}")

        d.kernel_session("s", tmp_path / "one", syscalls=syscalls, tid=True)
        d.reel("enable-rotation", "--keep", "1", "--publish", broker.url)
        d.reel("start")
        kworkload(d, work, 20)
        d.reel("rotate")
        announced(1)
        db = tmp_path / "follow.db"
        follower = Follower("syscalls", None, "--engine", broker.url, "-j", "1", "--sqlite", db)
        wait_until(lambda: follower.chunks() == 1, "the first chunk followed")
        # the broker away: two chunks archived, the first of them removed
        # by the retention before it could be announced
        broker.stop()
        for _ in range(2):
            kworkload(d, work, 20)
            d.reel("rotate")
        assert [c["index"] for c in rotations(d)["chunks"]] == [2], rotations(d)
        broker.start()
        announced(1)
        # chunk 0, the removed chunk 1 merged as empty, chunk 2
        wait_until(lambda: follower.chunks() == 3, "the chunk announced after the restart", timeout=120)
        assert metric(follower.metrics(), "reel_chunks_failed_total") == {frozenset(): 1.0}
        assert metric(follower.metrics(), "reel_chunks_pending") == {frozenset(): 0.0}
        d.reel("stop")
        d.reel("destroy")
        # the session created again: a new run, four chunks
        d.kernel_session("s", tmp_path / "two", syscalls=syscalls, tid=True)
        d.reel("enable-rotation", "--publish", broker.url)
        d.reel("start")
        for _ in range(4):
            kworkload(d, work, 20)
            d.reel("rotate")
        announced(4)
        paths = [Path(c["path"]) for c in rotations(d)["chunks"]]
        wait_until(lambda: follower.chunks() == 4
                   and metric(follower.metrics(), "reel_chunks_failed_total") == {frozenset(): 0.0},
                   "the new run followed", timeout=120)
        res, err = follower.finish()
        assert res == batch("syscalls", [p / "kernel" for p in paths], "-j", "1"), err
        assert "Following session 's'" in err, err
        assert "1 chunk of session 's' (1 to 1) removed before it was announced or read" in err, err
        assert "Session 's' was created again" in err, err
        # the database's chunks: the new run's, in order
        with sqlite3.connect(db) as c:
            rows = c.execute("SELECT idx, path FROM chunk ORDER BY idx").fetchall()
        assert rows == [(i, str(p)) for i, p in enumerate(paths)], rows
        # a chunk removed behind reeld's back (its announcement stays): the
        # batch skips it, saying so
        shutil.rmtree(paths[0])
        p = analyze("syscalls", "--json", "--engine", broker.url, "--session", "s")
        assert p.returncode == 0, p.stderr
        assert f"{paths[0]}: announced, but removed since: skipped" in p.stderr, p.stderr
        assert json.loads(p.stdout) == batch("syscalls", paths[1:], "-j", "1")
        d.reel("stop")
        d.reel("destroy")
        # a second session announcing: which one to follow is asked for
        d.kernel_session("other", tmp_path / "other", syscalls="getppid")
        d.reel("enable-rotation", "--publish", broker.url)
        d.reel("start")
        d.reel("rotate")
        announced(1)
        p = analyze("syscalls", "--follow", "--engine", broker.url)
        assert p.returncode == 1, p.stderr
        assert "2 sessions announce chunks at the broker" in p.stderr and "'s'" in p.stderr \
            and "'other'" in p.stderr and "--session" in p.stderr, p.stderr
        d.reel("stop")
        d.reel("destroy")
    finally:
        cleanup(lambda: follower and follower.kill(), *stop_workers(workers),
                lambda: stop_and_check(d), broker.stop)
