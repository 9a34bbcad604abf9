# SPDX-License-Identifier: MIT
"""System test of `reel analyze KIND --follow OUTPUT --metrics` (doc/metrics.md):
a real reeld records the kernel workload (tests/kernel/kworkload.c) with
rotations, one chunk archived before the follower starts and the others
while it runs; a real Prometheus (Debian's package, a private config,
storage and port) scrapes the follower; its numbers, read back through
Prometheus's HTTP API, equal `reel analyze syscalls --json` on the same
chunks, as does the follower's own report on SIGTERM.

Root and tracefs only (the kernel domain); Prometheus must be installed
(`make deps`). REEL_BUILD_DIR names the build.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernel"))
from test_kernel import REEL, SCHED, Daemon, _why_not, kworkload, stop_and_check  # noqa: E402

pytestmark = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
PROMETHEUS = shutil.which("prometheus")
N = 100


def wait_for(what, fn, timeout=120):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers, r.read().decode()


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a text exposition; checks each
    family's HELP and TYPE come once, before its samples."""
    samples, typed = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in typed, f"family {name} twice"
            typed[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = {k: v for k, v in LABEL.findall(m.group(2) or "")}
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        assert m.group(1) in typed or base in typed, f"sample before its TYPE: {line}"
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return samples, typed


def metric(text, name):
    samples, _ = parse_exposition(text)
    return {k[1]: v for k, v in samples.items() if k[0] == name}


class Prometheus:
    """Debian's prometheus with a private config, storage and port,
    scraping one target; stopped by pid."""

    def __init__(self, tmp, target):
        self.dir = Path(tempfile.mkdtemp(prefix="prom-", dir=tmp))
        self.port = free_port()
        cfg = self.dir / "prometheus.yml"
        cfg.write_text("global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\n"
                       "scrape_configs:\n  - job_name: reel\n"
                       f"    static_configs:\n      - targets: ['{target}']\n")
        self.log = open(self.dir / "log", "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for("prometheus to start", self.ready, 60)

    def ready(self):
        assert self.proc.poll() is None, (self.dir / "log").read_text()
        try:
            return http_get(self.url + "/-/ready", 2)[0] == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def query(self, q):
        _, _, body = http_get(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        res = json.loads(body)
        assert res["status"] == "success", res
        return {frozenset((k, v) for k, v in r["metric"].items() if k not in ("__name__", "job", "instance")):
                float(r["value"][1]) for r in res["data"]["result"]}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Follower:
    def __init__(self, kind, out, *args):
        self.proc = subprocess.Popen([str(REEL), "analyze", kind, "--follow", str(out), "--metrics",
                                      "127.0.0.1:0", "--json", "-j", "2"] + list(args),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        m = re.match(r"Serving the metrics on http://(127\.0\.0\.1:\d+)/metrics$", line.strip())
        assert m, line + self.proc.stderr.read() if self.proc.poll() is not None else line
        self.address = m.group(1)
        self.url = f"http://{self.address}/metrics"

    def metrics(self):
        status, headers, body = http_get(self.url)
        assert status == 200
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return body

    def chunks(self):
        return metric(self.metrics(), "reel_chunks_total")[frozenset()]

    def finish(self):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=120)
        assert self.proc.returncode == 0, err
        return json.loads(out), err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def chunks_of(out):
    return sorted((out / "archives").iterdir(), key=lambda c: int(c.name.rsplit("-", 1)[1]))


def batch(kind, chunks, *args):
    p = subprocess.run([str(REEL), "analyze", kind, "--json", "--quiet"] + [str(c) for c in chunks] + list(args),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def per_process(res):
    """(pid, comm, syscall) -> [count, sum_ns, {errno: n}], summed over
    each process's threads, as the metrics group them."""
    rows = {}
    for t in res["threads"]:
        pid = "unknown" if t["pid"] is None else str(t["pid"])
        for s in t["syscalls"]:
            r = rows.setdefault((pid, t["comm"], s["name"]), [0, 0, {}])
            r[0] += s["count"]
            r[1] += s["sum_ns"]
            for e, n in s["errno"].items():
                r[2][e] = r[2].get(e, 0) + n
    return rows


def test_follow_metrics_prometheus(tmp_path):
    if not PROMETHEUS:
        pytest.skip("prometheus is not installed (make deps)")
    d = Daemon(tmp_path)
    d.start()
    follower = prom = None
    try:
        work = tmp_path / "kw.txt"
        work.write_text("hello follower\n")
        out = tmp_path / "trace"
        d.reel("create", "fw", "-o", out)
        d.reel("add-context", "-k", "-t", "tid")
        d.reel("enable-channel", "-k", "channel0", "--subbuf-size", "1M", "--num-subbuf", "16")
        d.reel("enable-event", "-k", SCHED)
        d.reel("enable-event", "-k", "--syscall", "-a")
        d.reel("start")
        cpu = min(os.sched_getaffinity(0))
        pids = [kworkload(d, work, N, cpu=cpu)[0]]
        d.reel("rotate")  # archived before the follower starts
        follower = Follower("syscalls", out)
        assert wait_for("the first chunk in the metrics", lambda: follower.chunks() >= 1) == 1
        prom = Prometheus(tmp_path, follower.address)
        wait_for("a scrape", lambda: prom.query("reel_chunks_total") == {frozenset(): 1.0})
        # the server: 404 elsewhere, 405 for other methods, 400 for garbage, and goes on
        with pytest.raises(urllib.error.HTTPError) as e:
            http_get(f"http://{follower.address}/nothing")
        assert e.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(follower.url, data=b"x", method="POST"), timeout=10)
        assert e.value.code == 405
        host, port = follower.address.split(":")
        for garbage in (b"\x00\xff garbage\r\n\r\n", b"GET metrics HTTP/1.1\r\n\r\n", b"GET /metrics HTTP/9\r\n\r\n",
                        b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", b"A" * 20000, b""):
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(garbage)
                s.shutdown(socket.SHUT_WR)
                answer = s.recv(100)
            assert garbage == b"" or re.match(rb"HTTP/1\.1 4(00|31) ", answer), (garbage[:40], answer)
        # chunks archived while it follows
        for _ in range(2):
            pids.append(kworkload(d, work, N, cpu=cpu)[0])
            d.reel("rotate")
        d.reel("stop")
        d.reel("destroy")
        chunks = chunks_of(out)
        assert len(chunks) == 3
        wait_for("every chunk in the metrics", lambda: follower.chunks() == len(chunks))
        wait_for("the last scrape", lambda: prom.query("reel_chunks_total") == {frozenset(): 3.0})
        want = batch("syscalls", [c / "kernel" for c in chunks])
        assert want["chunks"] == 3
        rows = per_process(want)
        counts = prom.query("reel_syscall_duration_seconds_count")
        sums = prom.query("reel_syscall_duration_seconds_sum")
        inf = prom.query('reel_syscall_duration_seconds_bucket{le="+Inf"}')
        errors = prom.query("reel_syscall_errors_total")
        got = {}
        for labels, v in counts.items():
            l = dict(labels)
            key = (l["pid"], l["comm"], l["syscall"])
            assert v == inf[frozenset(list(labels) + [("le", "+Inf")])]
            got[key] = [int(v), round(sums[labels] * 1e9), {}]
        for labels, v in errors.items():
            l = dict(labels)
            got[(l["pid"], l["comm"], l["syscall"])][2][l["errno"]] = int(v)
        assert got == rows
        # the workload's own calls are there, from every chunk
        for pid in pids:
            assert sum(v[0] for k, v in got.items() if k[0] == str(pid) and k[2] == "lseek") == N
        assert prom.query("reel_events_total") == {frozenset(): float(want["events"])}
        assert prom.query("reel_lost_events_total") == {frozenset(): float(want["lost_events"])}
        assert prom.query("reel_newest_event_timestamp_seconds") == {
            frozenset(): float(f"{want['end_ns'] // 10 ** 9}.{want['end_ns'] % 10 ** 9:09d}")}
        # the follower's own report, on SIGTERM
        res, err = follower.finish()
        assert per_process(res) == rows and res["chunks"] == 3, err
    finally:
        if follower:
            follower.kill()
        if prom:
            prom.stop()
        stop_and_check(d)


def test_follow_errors(tmp_path):
    def run(*args):
        return subprocess.run([str(REEL), "analyze"] + [str(a) for a in args], capture_output=True, text=True,
                              timeout=60)
    for args, msg in ((["syscalls", "--metrics", "9464", tmp_path], "--metrics goes with --follow"),
                      (["syscalls", "--follow", tmp_path, tmp_path], "no TRACE"),
                      (["syscalls", "--follow", tmp_path / "none"], "not a directory"),
                      (["syscalls", "--follow", tmp_path, "--metrics", "1.2.3:x"], "bad port"),
                      (["syscalls", "--follow", tmp_path, "--metrics", "::1:80"], "in brackets"),
                      (["syscalls", "--follow", tmp_path, "--metrics", "256.1.1.1:80"], "bad address")):
        p = run(*args)
        assert p.returncode != 0 and msg in p.stderr, (args, p.stderr)
