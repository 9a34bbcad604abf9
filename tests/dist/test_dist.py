# SPDX-License-Identifier: MIT
"""System tests of the distributed analyses (src/dist, doc/dist.md): a real
nats-server (Debian's, JetStream on through dist/nats-server.conf) started
here on a free loopback port with a private store, `reel worker`s as
separate processes, `reel analyze KIND --engine URL` against the local
`-j N` run of the same chunks: identical text and JSON; a worker killed
with SIGKILL mid-task; the broker down at start; the broker restarted
while a worker runs.

Traces: the kernel workload (tests/kernel/kworkload.c) recorded with
rotations by a real reeld: root and tracefs only (those tests skip
otherwise). Every process started here is stopped by its pid.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernel"))
from test_kernel import (REEL, SCHED, Daemon, _why_not, kworkload,  # noqa: E402
                         stop_and_check)

NATS = shutil.which("nats-server")
CONF = Path(__file__).resolve().parent.parent.parent / "dist" / "nats-server.conf"
needs_trace = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
pytestmark = pytest.mark.skipif(NATS is None, reason="nats-server is not installed")
ROTATIONS = 6


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """nats-server with JetStream, loopback, its own store, stopped by pid."""

    def __init__(self, tmp, max_payload=None):
        self.port = free_port()
        self.conf = CONF
        if max_payload:
            # the shipped configuration with smaller messages
            self.conf = tmp / "nats-small.conf"
            self.conf.write_text(CONF.read_text().replace("max_payload: 1MB", f"max_payload: {max_payload}"))
        self.store = tmp / "nats-store"
        self.log = tmp / "nats.log"
        self.host = "127.0.0.1"
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen([NATS, "-c", str(self.conf), "-a", self.host, "-p", str(self.port),
                                          "-sd", str(self.store)],
                                         stdout=log, stderr=log)
        deadline = time.time() + 20
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    break
            except OSError:
                assert time.time() < deadline, "nats-server did not start"
                time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Worker:
    def __init__(self, tmp, url, name, env=None, args=(), prefix=()):
        self.log = tmp / f"worker-{name}.log"
        e = dict(os.environ)
        e.update(env or {})
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(list(prefix) + [str(REEL), "worker", "--engine", url, "--ack-wait", "2"]
                                         + list(args),
                                         stdout=subprocess.DEVNULL, stderr=log, env=e)

    def text(self):
        return self.log.read_text()

    def wait_for(self, what, timeout=60):
        deadline = time.time() + timeout
        while what not in self.text():
            assert self.proc.poll() is None, self.text()
            assert time.time() < deadline, f"worker never logged {what!r}: {self.text()}"
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"reel worker did not stop on SIGTERM: {self.text()}")
            assert self.proc.returncode == 0, self.text()
            assert "stopped" in self.text()
        return self.proc.returncode


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(url, n=1, env=None, args=()):
        ws = [Worker(tmp_path, url, f"{len(started) + i}", env, args) for i in range(n)]
        for w in ws:
            w.wait_for("taking tasks")
        started.extend(ws)
        return ws
    try:
        yield start
    finally:
        for w in started:
            w.stop()


@pytest.fixture(scope="module")
def chunks(tmp_path_factory):
    """The workload recorded with ROTATIONS rotations while it runs: the
    chunks of archives/, then the chunk in progress."""
    tmp = tmp_path_factory.mktemp("dist")
    d = Daemon(tmp)
    d.start()
    try:
        work = tmp / "kw.txt"
        work.write_text("hello workers\n")
        out = tmp / "trace"
        d.kernel_session("dist", out, tid=True)
        d.reel("start")
        for _ in range(ROTATIONS):
            kworkload(d, work, 100)
            d.reel("rotate")
        d.reel("stop")
        d.reel("destroy")
    finally:
        stop_and_check(d)
    return out


def analyze(*args, check=True):
    p = subprocess.run([str(REEL), "analyze", "--quiet"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def same_as_local(trace, url, kinds=("syscalls", "io", "cpu")):
    for kind in kinds:
        for fmt in ([], ["--json"]):
            local = analyze(kind, trace, "-j", "2", *fmt).stdout
            dist = analyze(kind, trace, "--engine", url, *fmt).stdout
            assert dist == local, (kind, fmt)
            if fmt:
                res = json.loads(dist)
                if "chunks" in res:
                    assert res["chunks"] >= ROTATIONS


@needs_trace
def test_batch_equals_local(chunks, broker, workers):
    ws = workers(broker.url, 3)
    same_as_local(chunks, broker.url)
    # every task went to one of them, and the work was shared
    logs = [w.text() for w in ws]
    done = [log.count(": done,") for log in logs]
    assert sum(done) >= 3 * 2 * (ROTATIONS + 1), logs
    # phases and fd carry their options in the task
    for args in (["fd", "--pid", "1", "--fd", "0"],):
        assert (analyze(*args, chunks, "--engine", broker.url).stdout ==
                analyze(*args, chunks, "-j", "2").stdout)


@needs_trace
def test_two_runs_at_once(chunks, broker, workers):
    workers(broker.url, 2)
    def cmd(kind):
        return [str(REEL), "analyze", "--quiet", "--json", kind, str(chunks), "--engine", broker.url]
    a = subprocess.Popen(cmd("syscalls"), stdout=subprocess.PIPE, text=True)
    b = subprocess.Popen(cmd("cpu"), stdout=subprocess.PIPE, text=True)
    out_a, _ = a.communicate(timeout=300)
    out_b, _ = b.communicate(timeout=300)
    assert a.returncode == 0 and b.returncode == 0
    assert out_a == analyze("syscalls", chunks, "--json", "-j", "2").stdout
    assert out_b == analyze("cpu", chunks, "--json", "-j", "2").stdout


@needs_trace
def test_sigkill_mid_task(chunks, broker, workers, tmp_path):
    """A worker that takes a task and dies: the task goes to another worker
    after the ack wait; the result is the local one, no chunk twice."""
    slow = workers(broker.url, 1, env={"REEL_WORKER_TEST_SLEEP_MS": "600000"})[0]
    run = subprocess.Popen([str(REEL), "analyze", "--quiet", "--json", "syscalls", str(chunks),
                            "--engine", broker.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    slow.wait_for(": mapping ")
    others = workers(broker.url, 2)
    time.sleep(0.5)  # the others take tasks while the slow one holds its own
    taken = slow.text().split(": mapping ")[0].rsplit("task ", 1)[1].split(" ")[0]
    slow.proc.send_signal(signal.SIGKILL)
    slow.proc.wait()
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    local = analyze("syscalls", chunks, "--json", "-j", "2").stdout
    assert out == local
    assert json.loads(out)["chunks"] == json.loads(local)["chunks"]
    # the killed worker's task was done by another
    assert any(re.search(rf"task {taken} of run \w+: done,", w.text()) for w in others), taken
    assert not re.search(rf"task {taken} of run \w+: done,", slow.text())


@needs_trace
def test_duplicate_results(chunks, broker, workers):
    """A worker too slow for the ack wait (no keep-alive: test-only): its
    task goes to another worker too, both map it and send its result; one
    is kept (the server drops the second by its id, the reducer would):
    the result is the local one, the chunk counted once."""
    slow = workers(broker.url, 1, env={"REEL_WORKER_TEST_SLEEP_MS": "4000",
                                      "REEL_WORKER_TEST_NO_KEEPALIVE": "1"})[0]
    run = subprocess.Popen([str(REEL), "analyze", "--quiet", "--json", "syscalls", str(chunks),
                            "--engine", broker.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    slow.wait_for(": mapping ")
    taken = slow.text().split(": mapping ")[0].rsplit("task ", 1)[1].split(" ")[0]
    other = workers(broker.url, 1, env={"REEL_WORKER_TEST_SLEEP_MS": "1000"})[0]
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    local = analyze("syscalls", chunks, "--json", "-j", "2").stdout
    assert out == local
    assert json.loads(out)["chunks"] == json.loads(local)["chunks"]
    done = rf"task {taken} of run \w+: done,"
    wait_until(lambda: re.search(done, other.text()), f"task {taken} not redone: {other.text()}")
    assert re.search(done, slow.text()) or "acknowledging the task" in slow.text(), slow.text()


@needs_trace
def test_max_deliver(chunks, broker, workers):
    """A task every worker dies on: given up after --max-deliver
    deliveries; the batch run says which chunk, exit 1."""
    slow = workers(broker.url, 1, env={"REEL_WORKER_TEST_SLEEP_MS": "600000"},
                   args=["--max-deliver", "1"])[0]
    one = sorted((chunks / "archives").iterdir())[0]
    run = subprocess.Popen([str(REEL), "analyze", "--quiet", "syscalls", str(one), "--engine", broker.url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    slow.wait_for(": mapping ")
    slow.proc.send_signal(signal.SIGKILL)
    slow.proc.wait()
    workers(broker.url, 1, args=["--max-deliver", "1"])
    out, err = run.communicate(timeout=120)
    assert run.returncode == 1, (out, err)
    assert str(one) in err and "max deliveries" in err, err


@needs_trace
def test_large_partials(chunks, workers, tmp_path):
    """Partials over the broker's max message go through the shared
    store: the result is the same, and the reducer removes the files."""
    broker = Broker(tmp_path, max_payload="16KB")
    broker.start()
    try:
        store = tmp_path / "store"
        store.mkdir()
        ws = workers(broker.url, 2, args=["--store", str(store)])
        same_as_local(chunks, broker.url, kinds=("syscalls", "io"))
        assert any("over the broker's max message" in w.text() for w in ws)
        assert any(re.search(r"partial of [1-9]\d* bytes", w.text()) for w in ws)
        assert list(store.iterdir()) == []
    finally:
        broker.stop()


def ip(*args, check=True):
    return subprocess.run(["ip"] + [str(a) for a in args], capture_output=True, text=True, check=check)


@needs_trace
@pytest.mark.skipif(shutil.which("ip") is None, reason="no ip (iproute2)")
def test_network_namespaces(chunks, tmp_path):
    """Workers in two network namespaces (standing for two machines),
    linked to the broker's by veth pairs on a bridge: the broker is
    reached over that network only, and the result is the local one."""
    tag = f"{os.getpid() % 100000}"
    net = f"10.{200 + os.getpid() % 50}.{os.getpid() // 50 % 250}"
    bridge, nss = f"rlb{tag}", [f"reel-w{tag}-{i}" for i in range(2)]
    started = []
    broker = Broker(tmp_path)
    try:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{net}.1/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for i, ns in enumerate(nss):
            ip("netns", "add", ns)
            ip("link", "add", f"rlh{tag}{i}", "type", "veth", "peer", "name", f"rlw{tag}{i}")
            ip("link", "set", f"rlh{tag}{i}", "master", bridge, "up")
            ip("link", "set", f"rlw{tag}{i}", "netns", ns)
            ip("-n", ns, "addr", "add", f"{net}.{2 + i}/24", "dev", f"rlw{tag}{i}")
            ip("-n", ns, "link", "set", f"rlw{tag}{i}", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        broker.host = f"{net}.1"
        broker.url = f"nats://{net}.1:{broker.port}"
        broker.start()
        for i, ns in enumerate(nss):
            w = Worker(tmp_path, broker.url, f"ns{i}", prefix=["ip", "netns", "exec", ns])
            started.append(w)
            w.wait_for("taking tasks")
        # the namespaces see no loopback broker: only the bridge's address
        p = subprocess.run(["ip", "netns", "exec", nss[0], str(REEL), "worker", "--engine",
                            f"nats://127.0.0.1:{broker.port}"], capture_output=True, text=True, timeout=60)
        assert p.returncode == 1 and "cannot reach the broker" in p.stderr
        same_as_local(chunks, broker.url, kinds=("syscalls",))
        assert all(": done," in w.text() for w in started), [w.text() for w in started]
    finally:
        for w in started:
            w.stop()
        broker.stop()
        for i, ns in enumerate(nss):
            ip("link", "del", f"rlh{tag}{i}", check=False)
            ip("netns", "del", ns, check=False)
        ip("link", "del", bridge, check=False)


def test_broker_down_at_start(tmp_path):
    url = f"nats://127.0.0.1:{free_port()}"
    p = subprocess.run([str(REEL), "worker", "--engine", url], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "cannot reach the broker at " + url in p.stderr
    p = analyze("syscalls", tmp_path, "--engine", url, check=False)
    assert p.returncode == 1
    assert "cannot reach the broker at " + url in p.stderr


def test_bad_options(tmp_path):
    for args, msg in ((["worker"], "--engine URL is required"),
                      (["worker", "--engine", "nats://x", "-j", "0"], "bad -j"),
                      (["worker", "--engine", "nats://x", "--ack-wait", "abc"], "bad --ack-wait"),
                      (["worker", "--engine", "nats://x", "--store", "rel"], "--store needs"),
                      (["worker", "--engine"], "option '--engine' requires an argument"),
                      (["worker", "--engine", "nats://x", "-j"], "option '-j' requires an argument"),
                      (["worker", "--engine", "nats://x", "--nope"], "unknown or ambiguous option '--nope'")):
        p = subprocess.run([str(REEL)] + args, capture_output=True, text=True, timeout=60)
        assert p.returncode != 0 and msg in p.stderr, (args, p.stderr)


def test_session_without_chunks(broker):
    p = analyze("syscalls", "--engine", broker.url, "--session", "nothing", check=False)
    assert p.returncode == 1 and "no chunk announced for session 'nothing'" in p.stderr, p.stderr
    p = analyze("syscalls", "--session", "nothing", check=False)
    assert p.returncode != 0 and "--session NAME needs --engine URL" in p.stderr, p.stderr


def test_not_a_trace(broker, workers, tmp_path):
    """A chunk the worker cannot read: its error comes back, exit 1."""
    workers(broker.url, 1)
    bad = tmp_path / "notatrace"
    bad.mkdir()
    (bad / "metadata").write_text("garbage\n")
    p = analyze("syscalls", bad, "--engine", broker.url, check=False)
    assert p.returncode == 1
    assert str(bad) in p.stderr and "worker" in p.stderr, p.stderr


@needs_trace
def test_broker_restarted(chunks, broker, workers):
    """The broker goes away while a worker maps a task, and comes back: the
    worker reconnects, publishes, and the batch run completes."""
    w = workers(broker.url, 1, env={"REEL_WORKER_TEST_SLEEP_MS": "3000"})[0]
    run = subprocess.Popen([str(REEL), "analyze", "--quiet", "--json", "syscalls", str(chunks),
                            "--engine", broker.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    w.wait_for(": mapping ")
    broker.stop()
    time.sleep(1)
    broker.start()
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err + w.text()
    assert out == analyze("syscalls", chunks, "--json", "-j", "2").stdout
    assert w.proc.poll() is None
    assert "disconnected from the broker" in w.text() and "reconnected" in w.text(), w.text()


def rotations(d):
    return json.loads(d.reel("list-rotations", "--json").stdout)


def wait_until(cond, what, timeout=60):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, what
        time.sleep(0.1)


@needs_trace
def test_publish(tmp_path, workers):
    """reel enable-rotation --timer --publish: each archived chunk is
    announced; with the broker down the chunks wait and tracing goes on
    (list-rotations says why); once it is up they go, and the announced
    chunks analysed through the engine equal the local analysis of the
    archives."""
    broker = Broker(tmp_path)
    d = Daemon(tmp_path)
    d.start()
    try:
        work = tmp_path / "kw.txt"
        work.write_text("hello publish\n")
        d.kernel_session("pub", tmp_path / "trace", tid=True)
        d.reel("enable-rotation", "--timer", "300ms", "--publish", broker.url)
        d.reel("start")
        # the broker is down: chunks are archived all the same, pending
        for _ in range(3):
            kworkload(d, work, 50)
        wait_until(lambda: len(rotations(d)["chunks"]) >= 2, "no rotation")
        rot = rotations(d)
        assert rot["publish"] == broker.url
        assert "cannot reach the broker" in rot["publish_error"], rot
        assert all(c["publish_status"] == -1 for c in rot["chunks"]), rot
        assert "chunks not announced: cannot reach the broker" in d.log.read_text()
        assert "chunks not announced: cannot reach the broker" in d.reel("status").stdout
        # the broker comes: what waited goes, what comes next too
        broker.start()
        before = len(rotations(d)["chunks"])
        for _ in range(3):
            kworkload(d, work, 50)
        wait_until(lambda: len(rotations(d)["chunks"]) >= before + 2, "no rotation")
        d.reel("stop")
        n = len(rotations(d)["chunks"])
        wait_until(lambda: all(c["publish_status"] == 0 for c in rotations(d)["chunks"]),
                   f"chunks not announced: {rotations(d)}")
        rot = rotations(d)
        assert len(rot["chunks"]) >= n >= 3
        assert "publish_error" not in rot or not rot["publish_error"], rot
        assert "announcing chunks again" in d.log.read_text()
        paths = [c["path"] for c in rot["chunks"]]
        workers(broker.url, 2)
        dist = analyze("syscalls", "--json", "--engine", broker.url, "--session", "pub").stdout
        assert dist == analyze("syscalls", "--json", "-j", "2", *paths).stdout
        assert json.loads(dist)["chunks"] == len(paths)
        d.reel("destroy")
    finally:
        stop_and_check(d)
        broker.stop()


@needs_trace
def test_publish_session_recreated(tmp_path, workers):
    """A session destroyed and created again under the same name announces
    its chunks on the same subject, from index 0 again: reel analyze
    --engine --session NAME analyses the chunks of the latest session
    only, not the first run's chunks of the same indices still in the
    stream (kept seven days)."""
    broker = Broker(tmp_path)
    broker.start()
    d = Daemon(tmp_path)
    d.start()
    try:
        work = tmp_path / "kw.txt"
        work.write_text("hello again\n")
        paths = []
        for run in ("one", "two"):
            d.reel("create", "again", "-o", tmp_path / run)
            d.reel("add-context", "-k", "-t", "tid")
            d.reel("enable-channel", "-k", "channel0", "--subbuf-size", "1M", "--num-subbuf",
                   "16")
            d.reel("enable-event", "-k", SCHED)
            d.reel("enable-event", "-k", "--syscall", "-a")
            d.reel("enable-rotation", "--timer", "300ms", "--publish", broker.url)
            d.reel("start")
            for _ in range(2 if run == "one" else 4):
                kworkload(d, work, 50)
            wait_until(lambda: len(rotations(d)["chunks"]) >= 2, "no rotation")
            d.reel("stop")
            wait_until(lambda: all(c["publish_status"] == 0 for c in rotations(d)["chunks"]),
                       f"chunks not announced: {rotations(d)}")
            paths = [c["path"] for c in rotations(d)["chunks"]]
            d.reel("destroy")
        workers(broker.url, 1)
        dist = analyze("syscalls", "--json", "--engine", broker.url, "--session",
                       "again").stdout
        assert dist == analyze("syscalls", "--json", "-j", "2", *paths).stdout
        assert json.loads(dist)["chunks"] == len(paths)
    finally:
        stop_and_check(d)
        broker.stop()


@needs_trace
def test_duplicate_results_in_store(chunks, workers, tmp_path):
    """A task redone (its first worker too slow for the ack wait) whose
    partial goes through the shared store: both workers write one, the
    broker keeps one result (by its id); no file stays in the store once
    both workers are done, and the result is the local one."""
    broker = Broker(tmp_path, max_payload="16KB")
    broker.start()
    try:
        store = tmp_path / "store"
        store.mkdir()
        one = sorted((chunks / "archives").iterdir())[0]
        slow = workers(broker.url, 1, env={"REEL_WORKER_TEST_SLEEP_MS": "4000",
                                          "REEL_WORKER_TEST_NO_KEEPALIVE": "1"},
                       args=["--store", str(store)])[0]
        run = subprocess.Popen([str(REEL), "analyze", "--quiet", "--json", "syscalls", str(one),
                                "--engine", broker.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        slow.wait_for(": mapping ")
        other = workers(broker.url, 1, env={"REEL_WORKER_TEST_SLEEP_MS": "1000"},
                        args=["--store", str(store)])[0]
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert out == analyze("syscalls", one, "--json").stdout
        for w in (slow, other):
            wait_until(lambda: re.search(r"of run \w+: done,|acknowledging the task", w.text()),
                       f"worker not done: {w.text()}")
        assert "over the broker's max message" in slow.text() + other.text()
        assert re.search(r"partial of [1-9]\d* bytes", slow.text() + other.text())
        assert list(store.iterdir()) == []
    finally:
        broker.stop()


def nats_request(broker, subject, payload):
    """One request over NATS's text protocol (no client library here):
    the reply's payload."""
    with socket.create_connection((broker.host, broker.port), timeout=20) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"INFO ")
        body = json.dumps(payload).encode()
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.t 1\r\n'
                  + f"PUB {subject} _INBOX.t {len(body)}\r\n".encode() + body + b"\r\nPING\r\n")
        while True:
            line = f.readline()
            assert line, "the broker closed the connection"
            if line.startswith(b"MSG "):
                data = f.read(int(line.split()[-1]) + 2)[:-2]
                return json.loads(data)
            assert not line.startswith(b"-ERR"), line


def test_worker_cannot_take_tasks(tmp_path):
    """The workers' consumer is not one a worker can pull from (here a
    push consumer of that name, made by another client): reel worker says
    why and exits with status 1, not 0."""
    broker = Broker(tmp_path)
    broker.start()
    try:
        r = nats_request(broker, "$JS.API.STREAM.CREATE.REEL_TASKS",
                         {"name": "REEL_TASKS", "subjects": ["reel.task.>"], "retention": "workqueue",
                          "storage": "file"})
        assert "error" not in r, r
        r = nats_request(broker, "$JS.API.CONSUMER.DURABLE.CREATE.REEL_TASKS.reel-workers",
                         {"stream_name": "REEL_TASKS",
                          "config": {"durable_name": "reel-workers", "deliver_subject": "somewhere",
                                     "ack_policy": "explicit", "filter_subject": "reel.task.>"}})
        assert "error" not in r, r
        p = subprocess.run([str(REEL), "worker", "--engine", broker.url], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 1, (p.returncode, p.stderr)
        assert "subscribing to the tasks" in p.stderr, p.stderr
    finally:
        broker.stop()



KEEP = 2


def stream_state(broker):
    """REEL_CHUNKS's state as the broker tells it: "messages" (how many it
    holds), "last_seq" (how many were ever stored)."""
    info = nats_request(broker, "$JS.API.STREAM.INFO.REEL_CHUNKS", {})
    assert "error" not in info, info
    return info["state"]


def stream_messages(broker):
    return stream_state(broker)["messages"]


def announced(d):
    """The indices of the chunks reeld keeps that are announced."""
    return [c["index"] for c in rotations(d)["chunks"] if c["publish_status"] == 0]


def oldest(d):
    """The index of the oldest chunk reeld keeps (-1: none)."""
    return min((c["index"] for c in rotations(d)["chunks"]), default=-1)


def unannounced(d):
    """How many announcements of removed chunks reeld deleted from the
    stream so far, or found gone (its REEL_DEBUG log)."""
    return len(re.findall(r"announcement of removed chunk \d+ \(REEL_CHUNKS sequence \d+\) "
                          r"(?:deleted|already gone)", d.log.read_text()))


def retention_session(d, tmp_path, broker, name):
    """Start reeld (REEL_DEBUG: it logs each deletion) and kernel session
    `name`, rotating every 300 ms, keeping KEEP chunks, announcing them on
    broker."""
    d.env["REEL_DEBUG"] = "1"
    d.start()
    d.kernel_session(name, tmp_path / "trace", tid=True)
    d.reel("enable-rotation", "--timer", "300ms", "--keep", str(KEEP), "--publish", broker.url)
    d.reel("start")


def record_until(d, work, cond, what):
    """Run the workload until cond() holds."""
    deadline = time.time() + 120
    while not cond():
        assert time.time() < deadline, what
        kworkload(d, work, 20)


def check_kept(d, broker, name):
    """Once every kept chunk is announced, the stream holds the kept
    chunks' announcements only: `reel analyze --engine --session` reads
    them and equals the local analysis of the kept chunks."""
    wait_until(lambda: all(c["publish_status"] == 0 for c in rotations(d)["chunks"]),
               f"chunks not announced: {rotations(d)}")
    wait_until(lambda: stream_messages(broker) == KEEP,
               f"the stream holds {stream_messages(broker)} announcements, not {KEEP}: {d.log.read_text()}")
    paths = [c["path"] for c in rotations(d)["chunks"]]
    assert len(paths) == KEEP and all(Path(p).is_dir() for p in paths), paths
    dist = analyze("syscalls", "--json", "--engine", broker.url, "--session", name).stdout
    assert dist == analyze("syscalls", "--json", "-j", "2", *paths).stdout
    assert json.loads(dist)["chunks"] == KEEP
    # every other announcement ever stored was deleted by reeld (its log
    # line follows the broker's answer)
    wait_until(lambda: unannounced(d) == stream_state(broker)["last_seq"] - KEEP, d.log.read_text())


def check_destroyed(d, broker):
    """Destroy the session: no deletion was left, none made twice."""
    d.reel("destroy")
    log = d.log.read_text()
    assert "stays" not in log, log
    assert unannounced(d) == stream_state(broker)["last_seq"] - KEEP, log


@needs_trace
def test_publish_retention(tmp_path, workers):
    """enable-rotation --keep N --publish: the chunks the retention removes
    had been announced; their announcements are deleted from the stream,
    which holds the kept chunks' only."""
    broker = Broker(tmp_path)
    broker.start()
    d = Daemon(tmp_path)
    try:
        retention_session(d, tmp_path, broker, "keep")
        work = tmp_path / "kw.txt"
        work.write_text("hello retention\n")
        # several rotations: announced chunks removed
        record_until(d, work, lambda: oldest(d) >= 3, "no chunk removed")
        d.reel("stop")
        workers(broker.url, 2)
        check_kept(d, broker, "keep")
        assert stream_state(broker)["last_seq"] > KEEP
        check_destroyed(d, broker)
    finally:
        stop_and_check(d)
        broker.stop()


def removed_while_away(d, tmp_path, broker, name):
    """Session `name` with the retention records until KEEP chunks are
    announced, then the broker stops and the recording goes on until those
    chunks are removed: their indexes."""
    retention_session(d, tmp_path, broker, name)
    work = tmp_path / "kw.txt"
    work.write_text(f"hello {name}\n")
    record_until(d, work, lambda: len(announced(d)) >= KEEP, "no chunk announced")
    gone = announced(d)
    broker.stop()
    # more rotations: the announced chunks are removed, the broker away
    record_until(d, work, lambda: oldest(d) > max(gone), "the announced chunks were not removed")
    return gone


@needs_trace
def test_publish_retention_broker_down(tmp_path, workers):
    """The broker goes away after chunks are announced, and the retention
    removes them meanwhile: their deletions wait (the log says so) and are
    made when the broker is back (same port, same store: the stream and
    its announcements are still there)."""
    broker = Broker(tmp_path)
    broker.start()
    d = Daemon(tmp_path)
    try:
        gone = removed_while_away(d, tmp_path, broker, "down")
        failing = "announcements of removed chunks not deleted"
        wait_until(lambda: failing in d.log.read_text(), f"no deletion tried: {d.log.read_text()}")
        broker.start()
        d.reel("stop")
        workers(broker.url, 2)
        check_kept(d, broker, "down")
        log = d.log.read_text()
        again = log.index("deleting announcements again")
        assert log.index(failing) < again
        # the chunks removed while the broker was away: deleted once it was back
        for i in gone:
            m = re.search(rf"announcement of removed chunk {i} \(REEL_CHUNKS sequence \d+\) "
                          r"(?:deleted|already gone)", log)
            assert m and m.start() > again, (i, log)
        check_destroyed(d, broker)
    finally:
        stop_and_check(d)
        broker.stop()


@needs_trace
def test_publish_retention_left_on_destroy(tmp_path):
    """The session destroyed while the broker is away and deletions wait:
    reeld says which announcements stay in the stream."""
    broker = Broker(tmp_path)
    broker.start()
    d = Daemon(tmp_path)
    try:
        gone = removed_while_away(d, tmp_path, broker, "left")
        d.reel("stop")
        d.reel("destroy")
        log = d.log.read_text()
        for i in gone:
            assert re.search(rf"session left: the announcement of removed chunk {i} "
                             r"\(REEL_CHUNKS sequence \d+\) stays", log), (i, log)
        assert unannounced(d) == 0, log
    finally:
        stop_and_check(d)
        broker.stop()


@needs_trace
def test_publish_retention_gone_or_not_ours(tmp_path, workers):
    """Rotations by hand, --keep 2 --publish: an announcement deleted by
    another client before the retention removes its chunk counts as
    deleted; after the broker's store is made anew, the sequences of
    removed chunks hold other messages (another subject's, then this
    session's announcement of a kept chunk): reeld leaves them."""
    broker = Broker(tmp_path)
    broker.start()
    d = Daemon(tmp_path)
    try:
        d.env["REEL_DEBUG"] = "1"
        d.start()
        d.kernel_session("check", tmp_path / "trace", tid=True)
        d.reel("enable-rotation", "--keep", str(KEEP), "--publish", broker.url)
        d.reel("start")
        work = tmp_path / "kw.txt"
        work.write_text("hello sequences\n")

        def rotate():
            kworkload(d, work, 5)
            d.reel("rotate")
            wait_until(lambda: all(c["publish_status"] == 0 for c in rotations(d)["chunks"]),
                       f"chunks not announced: {rotations(d)}")

        def logged(index, seq, what):
            line = f"announcement of removed chunk {index} (REEL_CHUNKS sequence {seq}) {what}"
            wait_until(lambda: line in d.log.read_text(), f"not logged: {line}: {d.log.read_text()}")

        def get(seq):
            return nats_request(broker, "$JS.API.STREAM.MSG.GET.REEL_CHUNKS", {"seq": seq})

        rotate()
        rotate()  # chunks 0 and 1: sequences 1 and 2
        assert nats_request(broker, "$JS.API.STREAM.MSG.DELETE.REEL_CHUNKS", {"seq": 1}).get("success")
        rotate()  # chunk 2 (sequence 3); chunk 0 removed, its announcement gone already
        logged(0, 1, "already gone")
        assert [c["index"] for c in rotations(d)["chunks"]] == [1, 2]
        # the store made anew: sequences 1 and 2 are another subject's
        broker.stop()
        shutil.rmtree(broker.store)
        broker.start()
        r = nats_request(broker, "$JS.API.STREAM.CREATE.REEL_CHUNKS",
                         {"name": "REEL_CHUNKS", "subjects": ["reel.chunk.>"], "storage": "file"})
        assert "error" not in r, r
        for seq in (1, 2):
            assert nats_request(broker, "reel.chunk.other", {"not": "ours"})["seq"] == seq
        rotate()  # chunk 3 (sequence 3); chunk 1's sequence 2 is not its announcement
        logged(1, 2, "left: that sequence holds another message")
        rotate()  # chunk 4; chunk 2's sequence 3 is chunk 3's announcement
        logged(2, 3, "left: that sequence holds another message")
        for seq in (1, 2, 3):
            assert "error" not in get(seq), (seq, get(seq))
        d.reel("stop")
        paths = [c["path"] for c in rotations(d)["chunks"]]
        assert [c["index"] for c in rotations(d)["chunks"]] == [3, 4]
        workers(broker.url, 1)
        dist = analyze("syscalls", "--json", "--engine", broker.url, "--session", "check").stdout
        assert dist == analyze("syscalls", "--json", "-j", "2", *paths).stdout
        assert json.loads(dist)["chunks"] == KEEP
        d.reel("destroy")
        assert "stays" not in d.log.read_text()
    finally:
        stop_and_check(d)
        broker.stop()
