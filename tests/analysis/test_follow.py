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

    def __init__(self, tmp, targets):
        self.dir = Path(tempfile.mkdtemp(prefix="prom-", dir=tmp))
        self.port = free_port()
        cfg = self.dir / "prometheus.yml"
        # every process of a busy machine: bodies of tens of MB
        cfg.write_text("global:\n  scrape_interval: 3s\n  scrape_timeout: 3s\n"
                       "scrape_configs:\n  - job_name: reel\n"
                       "    static_configs:\n      - targets: [" + ", ".join(f"'{t}'" for t in targets) + "]\n")
        self.log = open(self.dir / "log", "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--query.timeout=5m"],
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
        # a whole machine's series: some queries take seconds
        _, _, body = http_get(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": q}), 300)
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
    """reel analyze KIND --follow OUT (out None: --follow --engine URL, the
    broker's announcements) --metrics, JSON report, 2 jobs; run through
    `prefix` (a command that execs it last)."""

    def __init__(self, kind, out, *args, prefix=()):
        follow = ["--follow"] + ([str(out)] if out is not None else [])
        # stderr in a file: what it says is read whole at the end
        self.log = tempfile.NamedTemporaryFile(mode="w+", prefix="follower-", suffix=".log")
        self.proc = subprocess.Popen(list(prefix) + [str(REEL), "analyze", kind] + follow + ["--metrics",
                                      "127.0.0.1:0", "--json", "-j", "2"] + list(args),
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 60
        while not (m := re.search(r"^Serving the metrics on http://(127\.0\.0\.1:\d+)/metrics$",
                                  self.stderr(), re.M)):
            assert self.proc.poll() is None and time.time() < deadline, self.stderr()
            time.sleep(0.05)
        self.address = m.group(1)
        self.url = f"http://{self.address}/metrics"

    def stderr(self):
        return Path(self.log.name).read_text()

    def metrics(self):
        status, headers, body = http_get(self.url)
        assert status == 200
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return body

    def chunks(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"the follower exited ({self.proc.returncode}): {self.stderr()}")
        return metric(self.metrics(), "reel_chunks_total")[frozenset()]

    def finish(self):
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=120)
        err = self.stderr()
        self.log.close()
        assert self.proc.returncode == 0, err
        return json.loads(out), err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self.log.close()


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


PHASES = ["--begin", "kwork:mark", "--end", "kwork:mark", "--by", "step"]


def sel(name, instance, extra=""):
    return f'{name}{{instance="{instance}"{"," + extra if extra else ""}}}'


def check_syscalls(prom, inst, want, pids):
    rows = per_process(want)
    counts = prom.query(sel("reel_syscall_duration_seconds_count", inst))
    sums = prom.query(sel("reel_syscall_duration_seconds_sum", inst))
    inf = prom.query(sel("reel_syscall_duration_seconds_bucket", inst, 'le="+Inf"'))
    errors = prom.query(sel("reel_syscall_errors_total", inst))
    got = {}
    for labels, v in counts.items():
        lab = dict(labels)
        assert v == inf[frozenset(list(labels) + [("le", "+Inf")])]
        got[(lab["pid"], lab.get("comm", ""), lab["syscall"])] = [int(v), round(sums[labels] * 1e9), {}]
    for labels, v in errors.items():
        lab = dict(labels)
        got[(lab["pid"], lab.get("comm", ""), lab["syscall"])][2][lab["errno"]] = int(v)
    assert got == rows
    # the workload's own calls are there, from every chunk
    for pid in pids:
        assert sum(v[0] for k, v in got.items() if k[0] == str(pid) and k[2] == "lseek") == N
    assert prom.query(sel("reel_events_total", inst)) == {frozenset(): float(want["events"])}
    assert prom.query(sel("reel_lost_events_total", inst)) == {frozenset(): float(want["lost_events"])}
    end = float(f"{want['end_ns'] // 10 ** 9}.{want['end_ns'] % 10 ** 9:09d}")
    assert prom.query(sel("reel_newest_event_timestamp_seconds", inst)) == {frozenset(): end}


def check_io(prom, inst, want, pids):
    """The report's files (its first 10: a larger --limit makes its
    slowest-calls list costly) equal the metrics' rows of the same files."""
    rows = {}
    for f in want["files"]:
        for p in f["processes"]:
            r = rows.setdefault((str(p["pid"]), "unknown" if f["name"] is None else f["name"]), [0, 0])
            r[0] += p["read"]
            r[1] += p["write"]
    got = {}
    for i, name in enumerate(("reel_io_read_bytes_total", "reel_io_written_bytes_total")):
        for labels, v in prom.query(sel(name, inst)).items():
            lab = dict(labels)
            got.setdefault((lab["pid"], lab.get("file", "")), [0, 0])[i] += int(v)
    # known files: every process; unknown ones are one row per process
    files = {k[1] for k in rows if k[1] != "unknown"}
    assert {k: v for k, v in got.items() if k[1] in files or k in rows} == rows
    # the workload writes 19 bytes to its file per run
    for pid in pids:
        assert got[(str(pid), str(WORK))][1] == 19


def check_cpu(prom, inst, want):
    rows = {str(p["pid"]): p["cpu_ns"] for p in want["processes"]}
    got = {dict(lab)["pid"]: round(v * 1e9) for lab, v in prom.query(sel("reel_cpu_seconds_total", inst)).items()}
    assert got == rows and rows


def check_phases(prom, inst, want):
    groups = {g["group"]: (g["phases"], g["time_ns"]) for g in want["groups"]}
    sys_rows = {(g["group"], s["name"]): (s["count"], s["total_ns"]) for g in want["groups"] for s in g["syscalls"]}
    n = prom.query(sel("reel_phases_total", inst))
    t = prom.query(sel("reel_phase_seconds_total", inst))
    assert {dict(lab)["group"]: (int(v), round(t[lab] * 1e9)) for lab, v in n.items()} == groups
    c = prom.query(sel("reel_phase_syscalls_total", inst))
    t = prom.query(sel("reel_phase_syscall_seconds_total", inst))
    got = {(dict(lab)["group"], dict(lab)["syscall"]): (int(v), round(t[lab] * 1e9)) for lab, v in c.items()}
    assert got == sys_rows
    assert sys_rows[("1", "lseek")][0] == 3 * N  # mark 1 to 2: N lseek per run


WORK = None


DASHBOARD = Path(__file__).resolve().parents[2] / "doc" / "grafana" / "reel.json"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
                "offset", "bool"}


def promql_metrics(expr):
    """The metric names a PromQL expression reads: its identifiers less
    functions (followed by '('), keywords, label lists and matchers."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        if m.group(0) in PROMQL_WORDS or e[m.end():].lstrip().startswith("("):
            continue
        names.add(m.group(0))
    return names


def dashboard_queries():
    """(panel title, expr) of every panel of the Grafana dashboard."""
    dash = json.loads(DASHBOARD.read_text())
    out = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            if p["type"] == "row":
                continue
            assert p["targets"], p["title"]
            for t in p["targets"]:
                assert t["datasource"]["uid"] == "${datasource}", p["title"]
                out.append((p["title"], t["expr"]))
    walk(dash["panels"])
    return dash, out


def test_dashboard_wellformed():
    """Importable as Grafana wants it (a Prometheus data source variable,
    unique panel ids), and its queries name only the documented metrics
    (test_follow_metrics_prometheus checks them against a real exporter)."""
    dash, queries = dashboard_queries()
    ds = [v for v in dash["templating"]["list"] if v["type"] == "datasource"]
    assert ds and ds[0]["query"] == "prometheus" and ds[0]["name"] == "datasource"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    documented = set(re.findall(r"`(reel_[a-z_]+)", (DASHBOARD.parents[1] / "metrics.md").read_text()))
    assert documented
    for title, expr in queries:
        names = promql_metrics(expr)
        assert names and all(n.startswith("reel_") for n in names), (title, expr)
        assert names <= documented | {n + s for n in documented for s in ("_bucket", "_sum", "_count")}, (title, names)
    assert any("reel_phase_syscall_seconds_total" in e for _, e in queries)
    assert promql_metrics('sum by (a) (rate(x_total{a="b{}"}[5m])) / on (a) group_left y') == {"x_total", "y"}


def check_dashboard(prom, followers):
    """Every panel's query names metrics the followers serve, and returns
    data from Prometheus."""
    served = set()
    for f in followers.values():
        _, typed = parse_exposition(f.metrics())
        for name, kind in typed.items():
            served |= {name + s for s in ("_bucket", "_sum", "_count")} if kind == "histogram" else {name}
    _, queries = dashboard_queries()
    for title, expr in queries:
        names = promql_metrics(expr)
        assert names <= served, (title, names - served)
        q = expr.replace("$__rate_interval", "1m").replace("$instance", ".*")
        assert prom.query(q), (title, q)


def test_follow_metrics_prometheus(tmp_path):
    """Four followers (syscalls, io, cpu, phases) of one session; one chunk
    archived before they start, two while they follow."""
    global WORK
    if not PROMETHEUS:
        pytest.skip("prometheus is not installed (make deps)")
    d = Daemon(tmp_path)
    d.start()
    followers, prom = {}, None
    try:
        WORK = work = tmp_path / "kw.txt"
        work.write_text("hello follower\n")
        out = tmp_path / "trace"
        d.reel("create", "fw", "-o", out)
        d.reel("add-context", "-u", "-t", "vtid")
        d.reel("add-context", "-k", "-t", "tid")
        d.reel("enable-channel", "-k", "channel0", "--subbuf-size", "1M", "--num-subbuf", "16")
        d.reel("enable-event", "-k", SCHED + ",sched_wakeup")
        # the workload's syscalls only: every process of a busy machine
        # makes them too, but all of them made series by the 10 000s,
        # more than Prometheus answers the dashboard's queries for in time
        d.reel("enable-event", "-k", "--syscall", "openat,read,write,lseek,close,getppid,getuid,clone,wait4")
        d.reel("enable-event", "-u", "kwork:*")
        d.reel("start")
        cpu = min(os.sched_getaffinity(0))
        pids = [kworkload(d, work, N, cpu=cpu)[0]]
        d.reel("rotate")  # archived before the followers start
        for kind, args in (("syscalls", []), ("io", []), ("cpu", []), ("phases", PHASES)):
            followers[kind] = Follower(kind, out, *args)
        for f in followers.values():
            assert wait_for("the first chunk in the metrics", lambda: f.chunks() >= 1) == 1
        prom = Prometheus(tmp_path, [f.address for f in followers.values()])
        for f in followers.values():
            wait_for("a scrape", lambda: prom.query(sel("reel_chunks_total", f.address)) == {frozenset(): 1.0})
        f = followers["syscalls"]
        # the server: 404 elsewhere, 405 for other methods, 400 for garbage, and goes on
        with pytest.raises(urllib.error.HTTPError) as e:
            http_get(f"http://{f.address}/nothing")
        assert e.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(f.url, data=b"x", method="POST"), timeout=10)
        assert e.value.code == 405
        host, port = f.address.split(":")
        for garbage in (b"\x00\xff garbage\r\n\r\n", b"GET metrics HTTP/1.1\r\n\r\n",
                        b"GET /metrics HTTP/9\r\n\r\n", b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
                        b"A" * 20000, b""):
            with socket.create_connection((host, int(port)), timeout=10) as s:
                s.sendall(garbage)
                s.shutdown(socket.SHUT_WR)
                answer = s.recv(100)
            assert garbage == b"" or re.match(rb"HTTP/1\.1 4(00|31) ", answer), (garbage[:40], answer)
        # chunks archived while they follow
        for _ in range(2):
            pids.append(kworkload(d, work, N, cpu=cpu)[0])
            d.reel("rotate")
        d.reel("stop")
        d.reel("destroy")
        chunks = chunks_of(out)
        assert len(chunks) == 3
        kernel = [c / "kernel" for c in chunks]
        for f in followers.values():
            wait_for("every chunk in the metrics", lambda: f.chunks() == len(chunks))
            wait_for("the last scrape", lambda: prom.query(sel("reel_chunks_total", f.address)) == {frozenset(): 3.0})
        want = {"syscalls": batch("syscalls", kernel), "io": batch("io", kernel),
                "cpu": batch("cpu", kernel, "--limit", "1000000"), "phases": batch("phases", kernel, *PHASES)}
        assert want["syscalls"]["chunks"] == 3
        check_syscalls(prom, followers["syscalls"].address, want["syscalls"], pids)
        check_io(prom, followers["io"].address, want["io"], pids)
        check_cpu(prom, followers["cpu"].address, want["cpu"])
        check_phases(prom, followers["phases"].address, want["phases"])
        check_dashboard(prom, followers)
        # the followers' own reports, on SIGTERM
        res, err = followers["syscalls"].finish()
        assert per_process(res) == per_process(want["syscalls"]) and res["chunks"] == 3, err
        for kind in ("io", "phases"):
            res, err = followers[kind].finish()
            assert res["chunks"] == 3, err
            if kind == "phases":
                assert res["groups"] == want["phases"]["groups"]
            else:
                assert res["files"] == want["io"]["files"]
    finally:
        for f in followers.values():
            f.kill()
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


def test_metrics_slow_client(tmp_path):
    """A client that sends its request a byte at a time, forever, is cut
    off (the request has a deadline as a whole, not per read): a scrape
    made meanwhile is answered while that client still trickles, and the
    trickler's connection is closed without an answer."""
    import threading
    f = Follower("syscalls", tmp_path)
    host, port = f.address.split(":")
    slow = socket.create_connection((host, int(port)), timeout=60)
    done = threading.Event()
    sent = []

    def trickle():
        try:
            for i in range(600):  # one minute at most
                if done.is_set():
                    return
                slow.send(b"G" if i == 0 else b"x")
                sent.append(i)
                time.sleep(0.1)
        except OSError:
            pass  # cut off by the server
        finally:
            done.set()
    t = threading.Thread(target=trickle)
    try:
        t.start()
        while not sent:
            time.sleep(0.01)
        status, _, body = http_get(f.url, timeout=120)
        assert status == 200 and "reel_chunks_total 0" in body
        assert len(sent) < 600, "the scrape waited until the trickler gave up"
        done.set()
        t.join()
        try:
            assert slow.recv(100) == b""
        except ConnectionResetError:
            pass
    finally:
        done.set()
        t.join()
        slow.close()
        f.kill()
