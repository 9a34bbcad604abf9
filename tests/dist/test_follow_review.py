# SPDX-License-Identifier: MIT
"""The follower of reeld's announcements (`reel analyze KIND --follow
--engine URL`, doc/dist.md "A follower") where a user pushes it: stopped
with the broker away, interrupted twice while it waits for workers, run
on a machine that does not see the chunks, bad option values.

A real nats-server and real `reel worker`s map chunks recorded by a real
reeld (test_dist.py's `chunks`); the announcements are published here as
reeld's publisher publishes them (src/sessiond/publish.c: the REELCHUNK
message on reel.chunk.<hash of the session>, the chunk id as message id),
over the NATS protocol, so that each test chooses what is announced and
when without a session recording meanwhile.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "analysis"))
from test_dist import NATS, Broker, Worker, chunks, needs_trace  # noqa: E402,F401
from test_follow import Follower, batch, metric, wait_for  # noqa: E402
from test_kernel import REEL  # noqa: E402

pytestmark = pytest.mark.skipif(NATS is None, reason="nats-server is not installed")


def fnv_str(h, s):
    """src/dist/msg.c fnv_str: the length (with its NUL, 8 bytes) then the bytes."""
    b = s.encode()
    for byte in struct.pack("<Q", len(b) + 1) + b:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def chunk_id(s):
    """dist_chunk_id(): a chunk's message id, a session's subject token."""
    return "%016x" % fnv_str(fnv_str(0xcbf29ce484222325, "chunk"), s)


def announce(url, session, index, path, run="0123456789abcdef"):
    """Publish a chunk announcement as reeld does; returns the stream's ack.
    The chunks stream must exist (a reel process connected: no answer
    otherwise)."""
    host, port = url.split("//")[1].rsplit(":", 1)
    body = (f"REELCHUNK 1\nid {chunk_id(str(path))}\nsession {session}\nrun {run}\n"
            f"index {index}\npath {path}\n\n").encode()
    hdr = f"NATS/1.0\r\nNats-Msg-Id: {chunk_id(str(path))}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"INFO ")
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}\r\n'
                  b"SUB _INBOX.review 1\r\n"
                  + f"HPUB reel.chunk.{chunk_id(session)} _INBOX.review {len(hdr)} {len(hdr) + len(body)}\r\n".encode()
                  + hdr + body + b"\r\n")
        while True:
            line = f.readline()
            assert line and not line.startswith(b"-ERR"), line
            if line.startswith(b"PING"):
                s.sendall(b"PONG\r\n")
            elif line.startswith(b"MSG "):
                ack = json.loads(f.read(int(line.split()[-1]) + 2)[:-2])
                assert ack.get("stream") == "REEL_CHUNKS" and not ack.get("duplicate"), ack
                return ack


def chunk_dirs(out):
    return sorted((out / "archives").iterdir(), key=lambda c: int(c.name.rsplit("-", 1)[1]))


def wait_text(follower, text, timeout=60):
    wait_for(f"{text!r} on the follower's stderr: {follower.stderr()}",
             lambda: text in follower.stderr() or follower.proc.poll() is not None, timeout)
    assert text in follower.stderr(), follower.stderr()


def test_empty_session_and_engine():
    """An empty --session (no session has that name: reeld refuses it) or
    --engine is a usage error, not a follower waiting forever."""
    for args in (["--follow", "--engine", "nats://127.0.0.1:1", "--session", ""],
                 ["--engine", "nats://127.0.0.1:1", "--session", ""],
                 ["--follow", "--engine", ""]):
        p = subprocess.run([str(REEL), "analyze", "syscalls"] + args, capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        assert p.returncode == 2, (args, p.stderr)
        assert "empty --" in p.stderr, (args, p.stderr)


@needs_trace
def test_second_signal_stops_at_once(tmp_path, chunks):
    """SIGTERM with a chunk in flight and no worker: the follower waits for
    one (doc/dist.md); a second signal stops it at once, without the
    report, exit status 1 (it waited forever: only SIGKILL ended it)."""
    broker = Broker(tmp_path)
    follower = None
    try:
        broker.start()
        follower = Follower("syscalls", None, "--engine", broker.url, "--session", "s", "-j", "1")
        announce(broker.url, "s", 0, chunk_dirs(chunks)[0])
        wait_text(follower, "Following session 's'")
        follower.proc.send_signal(signal.SIGTERM)
        wait_text(follower, "finishing the chunks in progress")
        assert follower.proc.poll() is None, follower.stderr()
        follower.proc.send_signal(signal.SIGINT)
        try:
            out, _ = follower.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"a second signal did not stop it: {follower.stderr()}")
        assert follower.proc.returncode == 1, follower.stderr()
        assert out == ""
        assert "again: stopping without the 1 chunk in progress" in follower.stderr()
    finally:
        if follower:
            follower.kill()
        broker.stop()


@needs_trace
def test_stop_with_the_broker_away(tmp_path, chunks):
    """SIGTERM while the broker is away, nothing in flight: the report at
    once. The ordered consumer's deletion and each mapper connection's
    flush waited for their timeouts (10 s, then 2 s per connection: 60 s
    with -j 24, longer than a service manager's stop timeout)."""
    broker = Broker(tmp_path)
    workers, follower = [], None
    try:
        broker.start()
        workers.append(Worker(tmp_path, broker.url, "0"))
        follower = Follower("syscalls", None, "--engine", broker.url, "--session", "s", "-j", "24")
        first = chunk_dirs(chunks)[0]
        announce(broker.url, "s", 0, first)
        wait_for("the chunk merged", lambda: follower.chunks() == 1)
        broker.stop()
        wait_text(follower, "disconnected from the broker")
        follower.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = follower.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still stopping after 30 s: {follower.stderr()}")
        assert follower.proc.returncode == 0, follower.stderr()
        assert json.loads(out) == batch("syscalls", [first / "kernel"], "-j", "1")
    finally:
        if follower:
            follower.kill()
        for w in workers:
            w.proc.kill()
            w.proc.wait()
        broker.stop()


@needs_trace
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")
def test_follower_without_the_storage(tmp_path, chunks):
    """doc/dist.md: the workers read the announced chunks, 'the follower
    itself needs no access to them'. A follower in a mount namespace
    where the traces are hidden (a tmpfs over them) has the same result
    as the local analysis (each chunk failed: No such file or directory)."""
    broker = Broker(tmp_path)
    workers, follower = [], None
    paths = chunk_dirs(chunks)
    try:
        broker.start()
        workers.append(Worker(tmp_path, broker.url, "0"))
        hide = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs reel-hidden "$0" && exec "$@"', str(chunks)]
        follower = Follower("syscalls", None, "--engine", broker.url, "--session", "s",
                            prefix=hide)
        for i, p in enumerate(paths):
            announce(broker.url, "s", i, p)
        wait_for("every chunk merged", lambda: follower.chunks() == len(paths))
        assert metric(follower.metrics(), "reel_chunks_failed_total") == {frozenset(): 0.0}, \
            follower.stderr()
        res, err = follower.finish()
        assert res == batch("syscalls", [p / "kernel" for p in paths], "-j", "1"), err
    finally:
        if follower:
            follower.kill()
        for w in workers:
            w.stop()
        broker.stop()


@needs_trace
def test_two_daemons_one_session_name(tmp_path, chunks):
    """Two runs of one session name announcing at once (two daemons, on
    two hosts, each with a session 'web'): the follower took each
    announcement of the other run as the session created again, and
    started its result over at every chunk (its counters reset each
    time). A run replaced by a later one is ignored from then on, said
    once; a run never seen still starts the result over (the session
    created again), as does the batch run's choice of the latest run."""
    broker = Broker(tmp_path)
    workers, follower = [], None
    src = chunk_dirs(chunks)
    links = tmp_path / "links"
    links.mkdir()
    n = 0

    def ann(run, index):
        nonlocal n
        link = links / f"{run}-{index}-{n}"  # a path once: its id is the message id
        link.symlink_to(src[n % len(src)])
        n += 1
        announce(broker.url, "web", index, link, run=run * 16)
        return link

    try:
        broker.start()
        workers.append(Worker(tmp_path, broker.url, "0"))
        workers[0].wait_for("taking tasks")  # the streams made
        ann("a", 0)
        ann("a", 1)
        b = [ann("b", 0)]
        # following from the latest run at start: b's
        follower = Follower("syscalls", None, "--engine", broker.url, "--session", "web", "-j", "1")
        wait_for("b's first chunk", lambda: follower.chunks() == 1)
        ann("a", 2)
        b.append(ann("b", 1))
        wait_for("b's second chunk", lambda: follower.chunks() == 2)
        assert "created again" not in follower.stderr(), follower.stderr()
        assert follower.stderr().count("ignoring the announcements of an earlier run") == 1
        # a new run: the session created again
        c = [ann("c", 0)]
        wait_text(follower, "Session 'web' was created again")
        ann("b", 2)
        ann("a", 3)
        c.append(ann("c", 1))
        wait_for("c's chunks", lambda: follower.chunks() == 2
                 and metric(follower.metrics(), "reel_chunks_failed_total") == {frozenset(): 0.0})
        res, err = follower.finish()
        assert err.count("created again") == 1, err
        assert err.count("ignoring the announcements of an earlier run") == 2, err
        want = batch("syscalls", [p.resolve() / "kernel" for p in c], "-j", "1")
        assert res == want, err
        p = subprocess.run([str(REEL), "analyze", "syscalls", "--json", "--quiet", "--engine", broker.url,
                            "--session", "web"], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == want
        assert "ignoring the announcements of an earlier run" in p.stderr, p.stderr
    finally:
        if follower:
            follower.kill()
        for w in workers:
            w.stop()
        broker.stop()


def test_jobs_above_the_open_files_limit(tmp_path):
    """-j N with --engine opens N connections: under an open files limit
    too low for them, libnats said 'cannot reach the broker ... No server
    available', and the broker was fine. Now: the limit is named, or the
    soft limit raised when the hard one allows."""
    import resource

    def start(soft, hard, url):
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        return subprocess.Popen([str(REEL), "analyze", "syscalls", "--follow", "--engine", url, "--session", "s",
                                 "-j", "300", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=limit)

    p = start(256, 256, "nats://127.0.0.1:1")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, err
    assert "-j 300: a connection to the broker each, more than the open files limit" in err, err
    broker = Broker(tmp_path)
    p = None
    try:
        broker.start()
        p = start(256, 4096, broker.url)
        wait_for("the follower started", lambda: p.poll() is not None or
                 len(os.listdir(f"/proc/{p.pid}/fd")) > 300, timeout=120)
        assert p.poll() is None
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert json.loads(out)["chunks"] == 0
    finally:
        if p and p.poll() is None:
            p.kill()
            p.communicate()
        broker.stop()


def test_broker_password_not_shown(tmp_path):
    """A broker with authorization (`--engine nats://user:password@...`,
    doc/dist.md): the password was printed by the follower ('Following
    ... at URL'), in 'cannot reach the broker at URL', and written into
    the --sqlite database (its trace.paths), a file made to be shared.
    Now `***` in its place."""
    from test_dist import CONF
    broker = Broker(tmp_path)
    broker.conf = tmp_path / "nats-auth.conf"
    broker.conf.write_text(CONF.read_text() + "\nauthorization {\n  user: alice\n  password: \"s3cr/e@t\"\n}\n")
    url = f"nats://alice:s3cr/e@t@127.0.0.1:{broker.port}"
    shown = f"nats://alice:***@127.0.0.1:{broker.port}"
    p = None
    try:
        broker.start()
        bad = subprocess.run([str(REEL), "analyze", "syscalls", "--follow", "--engine",
                              url.replace("s3cr/e@t", "wr0ng"), "--session", "s"],
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 1, bad.stderr
        assert f"cannot reach the broker at {shown}: " in bad.stderr and "wr0ng" not in bad.stderr, bad.stderr
        db = tmp_path / "follow.db"
        p = subprocess.Popen([str(REEL), "analyze", "syscalls", "--follow", "--engine", url, "--session", "s",
                              "--sqlite", db], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = p.stderr.readline()
        assert line.startswith("Following the chunks session 's' announces at " + shown), line
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        import sqlite3
        with sqlite3.connect(db) as c:
            assert json.loads(c.execute("SELECT paths FROM trace").fetchone()[0]) == [shown]
        assert b"s3cr" not in db.read_bytes()
    finally:
        if p and p.poll() is None:
            p.kill()
            p.communicate()
        broker.stop()


def test_session_not_announced_yet(tmp_path):
    """--session NAME that has announced nothing (a misspelt name): the
    follower waited, saying only that it follows it. It says no chunk
    was announced for it yet; not when the stream holds one."""
    broker = Broker(tmp_path)
    followers = []
    try:
        broker.start()
        never = Follower("syscalls", None, "--engine", broker.url, "--session", "nevr")
        followers.append(never)
        wait_text(never, f"No chunk announced for session 'nevr' at {broker.url} yet: waiting for its first")
        announce(broker.url, "had", 0, tmp_path / "chunk-0")
        had = Follower("syscalls", None, "--engine", broker.url, "--session", "had")
        followers.append(had)
        wait_text(had, "Following session 'had'")
        assert "No chunk announced" not in had.stderr(), had.stderr()
    finally:
        for f in followers:
            f.kill()
        broker.stop()
