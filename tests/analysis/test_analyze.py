# SPDX-License-Identifier: MIT
"""System tests of `reel analyze` (src/analysis, doc/analysis.md) on real
kernel traces of the known workload (tests/kernel/kworkload.c) recorded by
a real reeld: chunked equals sequential (rotations, and one trace cut at
many points), LTTng-analyses' numbers, strace's counts, lost events.

Root and tracefs only: skips otherwise. REEL_BUILD_DIR names the build.
"""
import ast
import errno
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernel"))
from test_kernel import (KWORK, REEL, SCHED, Daemon, _why_not, parse_line,  # noqa: E402
                         kworkload, kworkload_result, peer_env, stop_and_check)

pytestmark = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
N = 200


def analyze(*args):
    p = subprocess.run([str(REEL), "analyze", "syscalls", "--json", "--quiet"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def numbers(res):
    """Every number of a result, by (tid, syscall); chunk counts apart."""
    return {(t["tid"], s["name"]): {k: v for k, v in s.items()}
            for t in res["threads"] for s in t["syscalls"]}


@pytest.fixture(scope="module")
def rotated(tmp_path_factory):
    """The workload recorded with three rotations while it runs, pinned to
    one CPU; with the tid context."""
    tmp = tmp_path_factory.mktemp("rot")
    d = Daemon(tmp)
    d.start()
    try:
        work = tmp / "kw.txt"
        work.write_text("hello analyses\n")
        out = tmp / "trace"
        d.kernel_session("an", out, tid=True)
        d.reel("start")
        cpu = min(os.sched_getaffinity(0))
        pids = []
        for _ in range(3):
            w = kworkload(d, work, N, wait=False, cpu=cpu)
            rot = threading.Thread(target=d.reel, args=("rotate",))
            rot.start()
            pids.append(kworkload_result(w)[0])
            rot.join()
        d.reel("stop")
        d.reel("destroy")
    finally:
        stop_and_check(d)
    return dict(out=out, pids=pids, work=work)


def test_chunks_equal_sequential(rotated):
    out = rotated["out"]
    chunks = sorted((out / "archives").iterdir(), key=lambda c: int(c.name.rsplit("-", 1)[1]))
    assert len(chunks) >= 3
    par = analyze(out, "-j", "4")
    assert par["chunks"] >= 3
    one = analyze(out, "-j", "1")
    assert numbers(par) == numbers(one)
    # the same chunks read as one trace, then cut at many points
    seq = analyze(out, "--cut-every", str(10 ** 12))
    assert seq["chunks"] == 1
    assert numbers(seq) == numbers(par)
    total = seq["events"]
    for every in (1, 2, 3, 7, 50, 333, 4096, total // 3 + 1):
        assert numbers(analyze(out, "--cut-every", every)) == numbers(seq), every
    for flags in (["--cpu-attribution"],):
        s = analyze(out, "--cut-every", str(10 ** 12), *flags)
        for every in (1, 3, 50, 1000):
            assert numbers(analyze(out, "--cut-every", every, *flags)) == numbers(s), every
    # the workload's own calls, whatever the chunks
    for pid in rotated["pids"]:
        mine = {k[1]: v for k, v in numbers(par).items() if k[0] == pid}
        assert mine["lseek"]["count"] == N, mine.keys()
        assert mine["read"]["count"] >= N
        assert mine["write"]["count"] >= 1


def test_text_output(rotated):
    p = subprocess.run([str(REEL), "analyze", "syscalls", str(rotated["out"])],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("Per-TID syscalls statistics (usec)")
    assert f"TID: {rotated['pids'][0]})" in p.stdout
    assert re.search(r"\nTotal syscalls: \d+\n$", p.stdout)


# ---- against LTTng-analyses and ground truth ---------------------------------


NO_LEAKS = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0"]))


@pytest.fixture(scope="module")
def pinned(tmp_path_factory):
    """One run of the workload pinned to one CPU, recorded with the
    scheduling events and every syscall (no tid context: threads from
    sched_switch, as LTTng-analyses)."""
    tmp = tmp_path_factory.mktemp("pinned")
    d = Daemon(tmp)
    d.start()
    try:
        work = tmp / "kw.txt"
        work.write_text("hello analyses\n")
        out = tmp / "trace"
        d.kernel_session("pin", out)
        d.reel("start")
        # as under strace (test_strace_counts), where LeakSanitizer
        # cannot run: the same syscalls at exit
        saved = d.env
        d.env = dict(d.env, ASAN_OPTIONS=NO_LEAKS)
        cpu = min(os.sched_getaffinity(0))
        pid, child = kworkload(d, work, N, cpu=cpu)
        # the same workload again under `strace -c -f` (test_strace_counts):
        # the same environment, so that its tracer library talks to the
        # same daemon and session
        strace = None
        if shutil.which("strace"):
            strace = tmp / "strace.txt"
            p = subprocess.run(["strace", "-c", "-f", "-o", str(strace), str(KWORK), str(work), str(N)],
                               capture_output=True, text=True, timeout=120, env=d.env,
                               preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
            assert p.returncode == 0, p.stderr
        d.env = saved
        d.reel("stop")
        d.reel("destroy")
    finally:
        stop_and_check(d)
    return dict(out=out, pid=pid, child=child, work=work, strace=strace)


def syscallstats_mi(trace):
    """lttng-syscallstats-mi's rows: {(tid, syscall): (count, min, avg, max)},
    durations in ns (avg a float: the total / count)."""
    if not shutil.which("lttng-syscallstats-mi"):
        pytest.skip("lttng-analyses (python3-lttnganalyses) is not installed")
    env = peer_env()
    p = subprocess.run(["lttng-syscallstats-mi", str(trace)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    rows = {}
    for table in json.loads(p.stdout)["results"]:
        cls = table.get("class")
        title = cls.get("title", "") if isinstance(cls, dict) else ""
        m = re.search(r"\((?:\d+|\?), TID: (\d+)\)\]$", title)
        if not m:
            continue
        for r in table["data"]:
            rows[(int(m.group(1)), r[0]["name"])] = tuple(c["value"] for c in r[1:5])
    return rows


def test_lttng_syscallstats(pinned):
    """The workload's lseek, write and read rows equal lttng-syscallstats':
    counts, min and max to the nanosecond, the total (avg x count) within
    the float's rounding. Both attribute syscalls by sched_switch; the
    workload is pinned, so it runs on one CPU between switches."""
    lttng = syscallstats_mi(pinned["out"] / "kernel")
    pid = pinned["pid"]
    for flags in ([], ["--cpu-attribution"]):
        reel = numbers(analyze(pinned["out"], *flags))
        for name in ("lseek", "write", "read"):
            assert (pid, name) in lttng, sorted(k for k in lttng if k[0] == pid)
            count, lo, avg, hi = lttng[(pid, name)]
            mine = reel[(pid, name)]
            assert (mine["count"], mine["min_ns"], mine["max_ns"]) == (count, lo, hi), (name, mine, lttng[(pid, name)])
            assert abs(avg * count - mine["sum_ns"]) < 0.5, (name, mine, avg)
        assert reel[(pid, "lseek")]["count"] == N


STRACE = re.compile(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$")


def test_strace_counts(pinned):
    """Ground truth: `strace -c -f` of a separate run of the same workload
    (same environment and daemon) counts, over the process, its threads
    and its child (-f), the same lseek, read, write and openat as the
    trace's rows of every thread of the workload's process and of its
    child. strace counts from the workload's execve; the traced process
    also ran, before its exec, subprocess's child code (it closes the
    pipes' ends, dup2s them): close is compared as at least."""
    if not pinned["strace"]:
        pytest.skip("strace is not installed")
    text = pinned["strace"].read_text()
    truth = {}
    for line in text.splitlines():
        m = STRACE.match(line)
        if m and m.group(2) != "total":
            truth[m.group(2)] = int(m.group(1))
    assert truth.get("lseek") == N, text
    mine = {}
    for t in analyze(pinned["out"])["threads"]:
        if t["pid"] in (pinned["pid"], pinned["child"]):
            for sc in t["syscalls"]:
                mine[sc["name"]] = mine.get(sc["name"], 0) + sc["count"]
    for name in ("lseek", "read", "write", "openat"):
        assert mine.get(name, 0) == truth.get(name, 0), (name, mine.get(name), truth.get(name))
    assert mine.get("close", 0) >= truth.get("close", 0), (mine.get("close"), truth.get("close"))


# ---- processes that fork and exec, against lttng-syscallstats -----------------------

# A shell loop running /bin/true and /bin/cat, forked children that make
# syscalls (one execs cat), threads: every row of lttng-syscallstats.
FORK_EXEC = """
import os, subprocess, sys, threading
path = sys.argv[1]
subprocess.run(["/bin/sh", "-c", "for i in 1 2 3 4 5; do /bin/true; /bin/cat %s >/dev/null; done" % path],
               check=True)
for k in range(3):
    pid = os.fork()
    if pid == 0:
        fd = os.open(path, os.O_RDONLY)
        for _ in range(20):
            os.lseek(fd, 0, 0)
            os.read(fd, 10)
        os.close(fd)
        if k == 1:
            os.execv("/bin/cat", ["cat", path])
        os._exit(0)
    os.waitpid(pid, 0)
def reader():
    fd = os.open(path, os.O_RDONLY)
    for _ in range(30):
        os.lseek(fd, 0, 0)
        os.read(fd, 5)
    os.close(fd)
ts = [threading.Thread(target=reader) for _ in range(3)]
[t.start() for t in ts]
[t.join() for t in ts]
print(os.getpid())
"""


def record_fork_exec(tmp, rotate):
    """FORK_EXEC (three runs with a rotation each, or one), recorded with
    the scheduling events and every syscall, no tid context (threads from
    sched_switch, as LTTng-analyses)."""
    d = Daemon(tmp)
    d.start()
    try:
        work = tmp / "fe.txt"
        work.write_text("hello fork exec\n")
        out = tmp / "trace"
        d.kernel_session("fe", out)
        d.reel("start")
        pids = []
        for _ in range(3 if rotate else 1):
            w = subprocess.Popen(["/usr/bin/python3", "-c", FORK_EXEC, str(work)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
            rot = threading.Thread(target=d.reel, args=("rotate",)) if rotate else None
            if rot:
                rot.start()
            pids.append(int(w.communicate(timeout=120)[0].split()[-1]))
            assert w.returncode == 0
            if rot:
                rot.join()
        d.reel("stop")
        d.reel("destroy")
    finally:
        stop_and_check(d)
    return dict(out=out, pids=pids)


@pytest.fixture(scope="module")
def fork_exec(tmp_path_factory):
    return dict(one=record_fork_exec(tmp_path_factory.mktemp("feone"), False),
                rot=record_fork_exec(tmp_path_factory.mktemp("ferot"), True))


def errno_value(name):
    """-errno of an errno name (both tools may spell one differently: EAGAIN
    and EWOULDBLOCK), or of a number they print as such (-516)."""
    return -getattr(errno, name) if hasattr(errno, name) else int(name)


def syscallstats_rows(trace):
    """Every row of lttng-syscallstats-mi --no-intersection: per (tid,
    syscall) its count, min, avg, max, stdev (ns; None: '?') and errors
    by errno value; per tid its process's name, pid and total."""
    if not shutil.which("lttng-syscallstats-mi"):
        pytest.skip("lttng-analyses (python3-lttnganalyses) is not installed")
    env = peer_env()  # without MALLOC_PERTURB_ (=77 by hand: a SIGSEGV every time)
    p = subprocess.run(["lttng-syscallstats-mi", "--no-intersection", str(trace)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert p.returncode == 0, (p.returncode, p.stderr)
    rows, procs = {}, {}
    for table in json.loads(p.stdout)["results"]:
        cls = table.get("class")
        title = cls.get("title", "") if isinstance(cls, dict) else ""
        m = re.search(r"\((?:\d+|\?), TID: (\d+)\)\]$", title)
        if m:
            for r in table["data"]:
                # lttng-syscallstats counts each return value once too many
                # (its dict starts a new key at 1, then adds 1)
                rv = ast.literal_eval(r[6]["value"])
                errs = {errno_value(k): v - 1 for k, v in rv.items() if k != "success"}
                rows[(int(m.group(1)), r[0]["name"])] = (
                    r[1]["value"], r[2]["value"], r[3]["value"], r[4]["value"], r[5].get("value"), errs)
        elif table["data"] and isinstance(table["data"][0][0], dict) and "tid" in table["data"][0][0]:
            for proc, count in table["data"]:
                procs[proc["tid"]] = (proc.get("name"), proc.get("pid"), count["value"])
    return rows, procs


def reel_rows(res):
    """The same rows from `reel analyze syscalls --json`."""
    rows, procs = {}, {}
    for t in res["threads"]:
        procs[t["tid"]] = (t["comm"], t["pid"], t["count"])
        for s in t["syscalls"]:
            errs = {errno_value(k): v for k, v in s["errno"].items()}
            rows[(t["tid"], s["name"])] = (s["count"], s["min_ns"], s["sum_ns"] / s["count"], s["max_ns"],
                                           s["stdev_ns"], errs)
    return rows, procs


@pytest.mark.parametrize("which", ["one", "rot"])
def test_lttng_syscallstats_fork_exec(fork_exec, which):
    """Every row of lttng-syscallstats (without its intersection of the
    streams' ranges: doc/analysis.md) equals Reel's, rotated or not, on 1
    or 4 threads, cut every 7 or 1000 events: per thread and syscall the
    count, errors by errno, min, max, the average and the stdev as the same
    doubles; per thread its process's name, pid and total; the forked,
    exec'd and threaded workload's processes among them."""
    out = fork_exec[which]["out"]
    want_rows, want_procs = syscallstats_rows(out)
    assert len(want_rows) > 50
    for args in (["-j", "1"], ["-j", "4"], ["--cut-every", "7"], ["--cut-every", "1000"]):
        rows, procs = reel_rows(analyze(out, *args))
        bad = [(k, want_rows.get(k), rows.get(k)) for k in set(want_rows) | set(rows)
               if want_rows.get(k) != rows.get(k)]
        assert not bad, (args, len(bad), sorted(bad, key=str)[:10])
        bad = [(k, want_procs.get(k), procs.get(k)) for k in set(want_procs) | set(procs)
               if want_procs.get(k) != procs.get(k)]
        assert not bad, (args, len(bad), sorted(bad, key=str)[:10])
    # the workload's processes are there: its main thread, processes it
    # forked (sh -c and the loop's children, its own children: pid = tid),
    # its threads (30 lseeks each) or children (20 lseeks each, one then
    # execs cat; an exec'd process keeps the name it had at its first
    # syscall). Not all of them: this machine's kernel records no switch
    # out of the idle task on one CPU (its raw ftrace shows it too), so a
    # task that starts there after idle has its syscalls counted for no
    # one, by both tools.
    lseeks = {tid: r[0] for (tid, name), r in rows.items() if name == "lseek"}
    for pid in fork_exec[which]["pids"]:
        assert procs[pid][:2] == ("python3", pid), procs.get(pid)
        forked = [t for t, p in procs.items() if p[1] == t and t > pid]
        threads = [t for t, p in procs.items() if p[1] == pid and t != pid and lseeks.get(t) == 30]
        kids = [t for t in forked if lseeks.get(t) == 20]
        assert len(forked) >= 3 and (threads or kids), (pid, forked, threads, kids)
    assert "sh" in {p[0] for p in procs.values()}


# ---- lost events -------------------------------------------------------------------


def test_lost_events(tmp_path):
    """A syscall storm into tiny kernel buffers (4 KB x 16 per CPU): the
    kernel discards events, and the analysis says which threads may miss
    syscalls (JSON: lost_events, uncertain; text: (uncertain) and a
    warning) instead of giving their numbers as exact; chunked still
    equals sequential."""
    d = Daemon(tmp_path)
    d.start()
    try:
        work = tmp_path / "kw.txt"
        work.write_text("storm\n")
        out = tmp_path / "trace"
        d.reel("create", "lost", "-o", out)
        d.reel("enable-channel", "-k", "channel0", "--subbuf-size", "4k", "--num-subbuf", "16")
        d.reel("enable-event", "-k", SCHED)
        d.reel("enable-event", "-k", "--syscall", "-a")
        d.reel("start")
        pid, _ = kworkload(d, work, 200000)
        d.reel("stop")
        d.reel("destroy")
    finally:
        stop_and_check(d)
    res = analyze(out)
    assert res["lost_events"] > 0, "the storm lost no event: buffers too large for this test"
    assert res["uncertain"] is True
    threads = {t["tid"]: t for t in res["threads"]}
    assert threads[pid]["uncertain"] is True
    assert threads[pid]["syscalls"]
    p = subprocess.run([str(REEL), "analyze", "syscalls", "--quiet", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    # (its pid is "?" when the storm's losses took its fork and statedump)
    assert re.search(rf"\((\d+|\?), TID: {pid}\) \(uncertain\)", p.stdout), p.stdout[:2000]
    assert "events were lost" in p.stderr or "events lost" in p.stdout, (p.stderr, p.stdout[-500:])
    seq = numbers(analyze(out, "--cut-every", str(10 ** 12)))
    assert numbers(res) == seq
    # Chunked: the threads not marked uncertain (no syscall event in a
    # chunk that lost events) have the sequential numbers exactly. Those
    # marked may differ: a lost sched_switch can show a thread running on
    # two CPUs at once, and its syscalls are then paired in an order that
    # depends on where the chunks begin (doc/analysis.md, Limits).
    for every in ("333", "5000"):
        cut = analyze(out, "--cut-every", every)
        unsure = {t["tid"] for t in cut["threads"] if t["uncertain"]}
        sure = {k: v for k, v in numbers(cut).items() if k[0] not in unsure}
        assert sure, every
        assert sure == {k: v for k, v in seq.items() if k[0] not in unsure}, every


# ---- reel analyze io ------------------------------------------------------------


def analyze_io(*args):
    p = subprocess.run([str(REEL), "analyze", "io", "--json", "--quiet", "--limit", "1000000"] +
                       [str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    res.pop("chunks")
    return res


def test_io_chunks_equal_sequential(rotated):
    """The workload's file, per run (the file grows by the 19 bytes each
    run writes): read N times whole, 19 bytes written, by the workload's
    process; the same report with -j 1 and -j 4, and the trace read as one
    and cut every 1, 7, 333 events (an fd opened in one chunk and read in
    another, a fork across a boundary)."""
    out, work = rotated["out"], str(rotated["work"])
    par = analyze_io(out, "-j", "4")
    assert analyze_io(out, "-j", "1") == par
    seq = analyze_io(out, "--cut-every", str(10 ** 12))
    assert seq == par
    for every in (1, 7, 333):
        assert analyze_io(out, "--cut-every", every) == seq, every
    files = {f["name"]: f for f in par["files"]}
    assert work in files, sorted(n for n in files if n)[:50]
    procs = {p["pid"]: p for p in files[work]["processes"]}
    for i, pid in enumerate(rotated["pids"]):
        size = len("hello analyses\n") + 19 * i
        assert procs[pid]["read"] == N * size, (i, procs[pid])
        assert procs[pid]["write"] == 19, (i, procs[pid])
    # its slowest I/O syscalls name their file
    mine = [l for l in par["latencies"] if l["pid"] in rotated["pids"] and l["syscall"] == "read"]
    assert any(l["file"] == work and l["tid"] == l["pid"] and l["duration_ns"] > 0 for l in mine), mine[:5]
    p = subprocess.run([str(REEL), "analyze", "io", "--quiet", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("Per-process I/O") and "Per-file I/O" in p.stdout
    assert "Top system call latencies" in p.stdout


def iousagetop_mi(trace):
    """lttng-iousagetop-mi's per-process (by tid) and per-file totals:
    {("proc"|"file", "read"|"written", tid or path): bytes}."""
    if not shutil.which("lttng-iousagetop-mi"):
        pytest.skip("lttng-analyses (python3-lttnganalyses) is not installed")
    env = peer_env()
    p = subprocess.run(["lttng-iousagetop-mi", "--limit", "1000000", str(trace)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    out = {}
    for table in json.loads(p.stdout)["results"]:
        cls = table.get("class")
        cid = (cls.get("inherit") or cls.get("id", "")) if isinstance(cls, dict) else str(cls)
        sub = cls.get("title", "") if isinstance(cls, dict) else ""
        op = "read" if "read" in sub else "written" if "written" in sub else None
        if cid == "per-process-top" and op:
            for r in table["data"]:
                out[("proc", op, r[0]["tid"])] = r[1]["value"]
        elif cid == "per-file-top" and op:
            for r in table["data"]:
                out[("file", op, r[0].get("path"))] = r[1]["value"]
    assert out, p.stdout[:2000]
    return out


def test_lttng_iousagetop(pinned):
    """The workload's read and written bytes (its thread, as
    lttng-iousagetop counts per thread: the file, its stdout, the tracer's
    sockets) and its file's totals equal lttng-iousagetop's on the same
    trace (no tid context: threads from sched_switch, as it does)."""
    lttng = iousagetop_mi(pinned["out"] / "kernel")
    res = analyze_io(pinned["out"])
    pid, work = pinned["pid"], str(pinned["work"])
    th = {t["tid"]: t for t in res["threads"]}
    assert th[pid]["read"] == lttng.get(("proc", "read", pid), 0), (th[pid], sorted(k for k in lttng if k[2] == pid))
    assert th[pid]["write"] == lttng.get(("proc", "written", pid), 0), th[pid]
    files = {f["name"]: f for f in res["files"]}
    # two runs on the file when strace is there (the second after the
    # first's 19 bytes), each reading it whole N times and writing 19 bytes
    runs = 2 if pinned["strace"] else 1
    size = len("hello analyses\n")
    assert files[work]["read"] == lttng[("file", "read", work)] == N * (size * runs + 19 * (runs - 1))
    assert files[work]["write"] == lttng[("file", "written", work)] == 19 * runs
    procs = {p["pid"]: p for p in files[work]["processes"]}
    assert (procs[pid]["read"], procs[pid]["write"]) == (N * size, 19)


# ---- reel analyze cpu -----------------------------------------------------------

CPU_EVENTS = "sched_switch,sched_wakeup,sched_waking,sched_process_fork,sched_process_exec,sched_process_exit"
# A busy loop of ~0.3 s of its own CPU time (not wall time: on a loaded
# machine it gets less than its CPU) that prints its own utime + stime (ns)
# at the end; a sleeper woken by a timer every 10 ms.
BUSY = ("import os, time\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\n"
        "f = open('/proc/self/stat').read().rsplit(')', 1)[1].split()\n"
        "print((int(f[11]) + int(f[12])) * 10**9 // os.sysconf('SC_CLK_TCK'))\n")
SLEEP = "import time\nfor _ in range(30): time.sleep(0.01)\n"


def analyze_cpu(*args):
    p = subprocess.run([str(REEL), "analyze", "cpu", "--json", "--quiet", "--limit", "1000000"] +
                       [str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    res.pop("chunks")
    return res


def record_cpu(tmp, rotate):
    """The busy loop and the sleeper, both pinned to one CPU, recorded
    with the scheduling events (with rotations while they run)."""
    d = Daemon(tmp)
    d.start()
    try:
        out = tmp / "trace"
        d.kernel_session("cpu", out, events=CPU_EVENTS, syscalls=None)
        d.reel("start")
        cpu = max(os.sched_getaffinity(0))
        pin = lambda: os.sched_setaffinity(0, {cpu})  # noqa: E731
        busy = subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True,
                                preexec_fn=pin)
        sleeper = subprocess.Popen([sys.executable, "-c", SLEEP], preexec_fn=pin)
        if rotate:
            for _ in range(3):
                d.reel("rotate")
        ns = int(busy.communicate(timeout=60)[0])
        assert sleeper.wait(timeout=60) == 0
        d.reel("stop")
        d.reel("destroy")
    finally:
        stop_and_check(d)
    return dict(out=out, busy=busy.pid, sleeper=sleeper.pid, ns=ns, cpu=cpu)


@pytest.fixture(scope="module")
def cpu_traces(tmp_path_factory):
    return dict(rot=record_cpu(tmp_path_factory.mktemp("cpurot"), True),
                one=record_cpu(tmp_path_factory.mktemp("cpuone"), False))


def test_cpu_chunks_equal_sequential(cpu_traces):
    """-j 1 = -j 4 = the trace read as one = cut every 1, 7, 333 events
    (soft begins and ends, wakeups before a boundary and switch-ins after)."""
    out = cpu_traces["rot"]["out"]
    assert len(list((out / "archives").iterdir())) >= 3
    par = analyze_cpu(out, "-j", "4")
    assert analyze_cpu(out, "-j", "1") == par
    seq = analyze_cpu(out, "--cut-every", str(10 ** 12))
    assert seq == par
    for every in (1, 7, 333, seq["events"] // 3 + 1):
        assert analyze_cpu(out, "--cut-every", every) == seq, every


def test_cpu_ground_truth(cpu_traces):
    """The busy loop: its runtime in the trace equals the utime + stime
    it read from /proc/self/stat just before exiting, within 3 clock ticks
    and 10 % (tick-based accounting; the trace also counts its exit), and
    is at least 80 % of the 0.3 s of CPU time it spun for. The sleeper: woken
    ~30 times, each wakeup's latency measured."""
    for rec in cpu_traces.values():
        res = analyze_cpu(rec["out"])
        th = {t["tid"]: t for t in res["threads"]}
        busy = th[rec["busy"]]
        tick = 10 ** 9 // os.sysconf("SC_CLK_TCK")
        assert abs(busy["cpu_ns"] - rec["ns"]) <= max(3 * tick, rec["ns"] // 10), (busy, rec["ns"])
        assert busy["cpu_ns"] >= 0.8 * 0.3e9, busy
        cpus = {c["cpu"]: c for c in res["cpus"]}
        assert cpus[rec["cpu"]]["busy_ns"] >= busy["cpu_ns"], cpus
        wk = {w["tid"]: w for w in res["wakeup_latency"]}
        assert wk[rec["sleeper"]]["count"] >= 25, wk.get(rec["sleeper"])
        w = wk[rec["sleeper"]]
        assert 0 <= w["min_ns"] <= w["avg_ns"] <= w["max_ns"] and w["p99_ns"] <= w["max_ns"]
    p = subprocess.run([str(REEL), "analyze", "cpu", "--quiet", str(cpu_traces["one"]["out"])],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    for title in ("Per-TID Usage", "Per-PID Usage", "Per-CPU Usage", "Total CPU Usage", "Wakeup latency"):
        assert title in p.stdout, p.stdout[:2000]


def test_lttng_cputop(cpu_traces):
    """Per-TID CPU time of the workload's threads equals lttng-cputop's on
    the same (unrotated) trace: its MI's ratio times its time range, to
    the nanosecond (the float's rounding). Time, not the ratio: its range
    starts later than Reel's (its first event, as its babeltrace 1
    bindings read the trace, is not the statedump's; not investigated),
    and the workload's threads start and end inside both ranges."""
    if not shutil.which("lttng-cputop-mi"):
        pytest.skip("lttng-analyses (python3-lttnganalyses) is not installed")
    rec = cpu_traces["one"]
    env = peer_env()
    p = subprocess.run(["lttng-cputop-mi", "--limit", "1000000", str(rec["out"] / "kernel")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    lttng = {}
    for table in json.loads(p.stdout)["results"]:
        cls = table.get("class")
        cid = (cls.get("inherit") or cls.get("id", "")) if isinstance(cls, dict) else str(cls)
        if cid == "per-process":
            tr = table["time-range"]
            dur = tr["end"]["value"] - tr["begin"]["value"]
            for r in table["data"]:
                lttng[r[0]["tid"]] = r[-1]["value"] * dur
    assert lttng, p.stdout[:2000]
    th = {t["tid"]: t for t in analyze_cpu(rec["out"])["threads"]}
    for tid in (rec["busy"], rec["sleeper"]):
        assert abs(th[tid]["cpu_ns"] - lttng[tid]) < 2, (tid, th[tid], lttng.get(tid))


# ---- reel analyze fd --------------------------------------------------------


def analyze_fd(*args):
    p = subprocess.run([str(REEL), "analyze", "fd", "--json", "--quiet"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    res.pop("chunks")
    return res


def bt_ns_events(out):
    """babeltrace2's events of every chunk (the archived ones and the last,
    out/kernel, where the events after the last rotation are), (ns since the
    epoch, name, fields), in time order (chunks overlap in time)."""
    evs = []
    last = [out / "kernel"] if (out / "kernel" / "metadata").exists() else []
    for kdir in [c / "kernel" for c in sorted((out / "archives").iterdir())] + last:
        p = subprocess.run(["babeltrace2", "--clock-seconds", str(kdir)], capture_output=True,
                           text=True, errors="replace", timeout=120)
        assert p.returncode == 0, p.stderr[-3000:]
        for line in p.stdout.splitlines():
            m = re.match(r"\[(\d+)\.(\d{9})\]", line)
            assert m, line
            name, f = parse_line(line)
            evs.append((int(m.group(1)) * 10 ** 9 + int(m.group(2)), name, f))
    evs.sort(key=lambda e: e[0])
    return evs


def test_fd_history(rotated):
    """The workload's fd of its file: opened by openat at the time of its
    syscall_exit_openat (babeltrace2's), closed by close at its exit's;
    --at a time between them names the file; -j 1 = -j 4 = cuts every 7
    events."""
    if not shutil.which("babeltrace2"):
        pytest.skip("no babeltrace2")
    out, work = rotated["out"], str(rotated["work"])
    evs = bt_ns_events(out)
    for pid in rotated["pids"]:
        mine = [(ts, n, f) for ts, n, f in evs if n.startswith("syscall_") and f.get("tid") == pid]
        i = next(i for i, (_, n, f) in enumerate(mine)
                 if n in ("syscall_entry_openat", "syscall_entry_open") and f.get("filename") == work)
        t_open, _, ex = next(e for e in mine[i + 1:] if e[1].startswith("syscall_exit_open"))
        fd = ex["ret"]
        assert fd >= 0
        j = next(j for j, (_, n, f) in enumerate(mine) if j > i and n == "syscall_entry_close" and f.get("fd") == fd)
        t_close = next(e[0] for e in mine[j + 1:] if e[1] == "syscall_exit_close")
        par = analyze_fd(out, "--pid", pid, "--fd", fd, "-j", "4")
        assert analyze_fd(out, "--pid", pid, "--fd", fd, "-j", "1") == par
        assert analyze_fd(out, "--pid", pid, "--fd", fd, "--cut-every", 7) == par
        assert par["pid"] == pid and par["fd"] == fd and par["at"] is None
        it = [x for x in par["intervals"] if x["file"] == work]
        assert len(it) == 1, par["intervals"]
        it = it[0]
        assert it["how"] == "open" and it["syscall"] == "openat" and it["tid"] == pid, it
        assert it["begin_ns"] == t_open and it["end_ns"] == t_close, (it, t_open, t_close)
        assert it["end"] == "close" and it["end_syscall"] == "close" and it["end_tid"] == pid, it
        mid = (t_open + t_close) // 2
        at = analyze_fd(out, "--pid", pid, "--fd", fd, "--at", mid)
        assert at["at"] == mid and at["intervals"] == [it], at
        assert analyze_fd(out, "--pid", pid, "--fd", fd, "--at", mid, "--cut-every", 7) == at
        # the interval's own bounds: [begin, end)
        assert analyze_fd(out, "--pid", pid, "--fd", fd, "--at", t_open)["intervals"] == [it]
        assert it not in analyze_fd(out, "--pid", pid, "--fd", fd, "--at", t_close)["intervals"]
    p = subprocess.run([str(REEL), "analyze", "fd", "--quiet", str(out), "--pid", str(pid), "--fd", str(fd),
                        "--at", str(mid)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert f"fd {fd} of process {pid}" in p.stdout and work in p.stdout and "opened: openat by tid" in p.stdout
    p = subprocess.run([str(REEL), "analyze", "fd", "--quiet", str(out), "--pid", str(pid)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "--fd" in p.stderr


# ---- phases ------------------------------------------------------------------

def phases(*args, check=True):
    p = subprocess.run([str(REEL), "analyze", "phases", "--json", "--quiet"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300)
    if not check:
        return p
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    res.pop("chunks")
    return res


@pytest.fixture(scope="module")
def phase_trace(tmp_path_factory):
    """The workload with its kwork:mark events (vtid context) and every
    syscall (tid context), with a rotation while it runs."""
    tmp = tmp_path_factory.mktemp("phases")
    d = Daemon(tmp)
    d.start()
    try:
        work = tmp / "kw.txt"
        work.write_text("hello phases\n")
        out = tmp / "trace"
        d.reel("create", "ph", "-o", out)
        d.reel("add-context", "-u", "-t", "vtid")
        d.reel("add-context", "-k", "-t", "tid")
        d.reel("enable-event", "-k", SCHED)
        d.reel("enable-event", "-k", "--syscall", "-a")
        d.reel("enable-event", "-u", "kwork:*")
        d.reel("start")
        pid, _ = kworkload(d, work, N, cpu=min(os.sched_getaffinity(0)))
        d.reel("stop")
        d.reel("destroy")
    finally:
        stop_and_check(d)
    return dict(out=out, pid=pid)


def test_phases(phase_trace):
    out = phase_trace["out"]
    args = [out, "--begin", "kwork:mark", "--end", "kwork:mark", "--by", "step"]
    one = phases(*args, "-j", "1")
    groups = {g["group"]: g for g in one["groups"]}
    # mark 1 to mark 2: openat, then N x (lseek, read), its own thread only
    g1 = {s["name"]: s for s in groups["1"]["syscalls"]}
    assert groups["1"]["phases"] == 1, one
    assert g1["lseek"]["count"] == N and g1["read"]["count"] == N, g1
    assert g1["openat"]["count"] == 1, g1
    assert g1["read"]["min_ns"] <= g1["read"]["max_ns"] <= g1["read"]["total_ns"] <= groups["1"]["time_ns"]
    assert groups["2"]["phases"] == 1 and groups["3"]["phases"] == 1
    assert {s["name"]: s["count"] for s in groups["2"]["syscalls"]}.get("write") == 1
    assert groups["4"]["phases"] == 0 and groups["4"]["open"] == 1
    assert phases(*args, "-j", "4") == one
    assert phases(*args, "--cut-every", "7") == one
    # without --by: one group
    nob = phases(out, "--begin", "kwork:mark", "--end", "kwork:mark")
    assert len(nob["groups"]) == 1 and nob["groups"][0]["phases"] == 3


def test_phases_needs_vtid(tmp_path):
    """A trace whose userspace events have no vtid context: refused, saying
    how to record one; --end is required."""
    d = Daemon(tmp_path)
    d.start()
    try:
        work = tmp_path / "kw.txt"
        work.write_text("no vtid\n")
        out = tmp_path / "trace"
        d.reel("create", "novtid", "-o", out)
        d.reel("enable-event", "-k", "--syscall", "lseek")
        d.reel("enable-event", "-u", "kwork:*")
        d.reel("start")
        kworkload(d, work, 3)
        d.reel("stop")
        d.reel("destroy")
    finally:
        stop_and_check(d)
    p = phases(out, "--begin", "kwork:mark", "--end", "kwork:mark", check=False)
    assert p.returncode != 0 and "add-context -u -t vtid" in p.stderr, (p.returncode, p.stderr)
    p = phases(out, "--begin", "kwork:mark", check=False)
    assert p.returncode != 0 and "--end" in p.stderr


# ---- --sqlite -----------------------------------------------------------------

def run_db(what, db, *args):
    """`reel analyze WHAT --json --sqlite DB ARGS`: the JSON and the
    database's tables (name -> sorted rows as dicts) of the same run."""
    p = subprocess.run([str(REEL), "analyze", what, "--json", "--quiet", "--sqlite", str(db)] +
                       [str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout), tables(db)


def tables(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: sorted((dict(r) for r in con.execute(f"SELECT * FROM {n}")), key=lambda r: repr(sorted(r.items())))
                for n in names}
    finally:
        con.close()


def model(t):
    """Every table but the run's own (chunks, paths)."""
    return {k: v for k, v in t.items() if k not in ("trace", "chunk")}


def check_trace(res, t, what):
    tr, = t["trace"]
    assert tr["analysis"] == what and tr["reel_version"]
    for k in ("events", "chunks", "lost_events"):
        assert tr[k] == res[k], k
    if "begin_ns" in res:
        assert (tr["begin_ns"], tr["end_ns"]) == (res["begin_ns"], res["end_ns"])
    assert len(t["chunk"]) >= 1 and json.loads(tr["paths"])


def test_sqlite_syscalls(rotated, tmp_path):
    """The syscalls report's tables equal its --json to the number; the
    database of -j 4 and of cuts every 7 and 333 events equals -j 1's
    row for row; an existing file is replaced."""
    out = rotated["out"]
    db = tmp_path / "s.db"
    db.write_text("not a database")
    res, t = run_db("syscalls", db, out, "-j", "1")
    check_trace(res, t, "syscalls")
    stats = {(r["tid"], r["syscall"]): r for r in t["syscall_stats"]}
    errs = {}
    for r in t["syscall_errno"]:
        errs.setdefault((r["tid"], r["syscall"]), {})[r["errno"]] = r["count"]
    n = 0
    for th in res["threads"]:
        for s in th["syscalls"]:
            r = stats[(th["tid"], s["name"])]
            n += 1
            assert (r["pid"], r["comm"], bool(r["uncertain"])) == (th["pid"], th["comm"], th["uncertain"])
            for k in ("count", "errors", "min_ns", "max_ns", "sum_ns", "p50_ns", "p99_ns"):
                assert r[k] == s[k], (k, r, s)
            assert round(r["avg_ns"], 3) == s["avg_ns"] and r["avg_ns"] == r["sum_ns"] / r["count"]  # JSON: %.3f
            assert errs.get((th["tid"], s["name"]), {}) == s["errno"]
    assert n == len(stats) and n > 0
    threads = {r["tid"]: r for r in t["thread"]}
    for pid in rotated["pids"]:
        assert threads[pid]["pid"] == pid and threads[pid]["comm"] == "kworkload"
        assert threads[pid]["first_seen_ns"] >= res["begin_ns"]
        assert {r["pid"]: r for r in t["process"]}[pid]["threads"] >= 1
    assert not t["syscall"] and not t["fd"] and not t["cpu"]  # no I/O log, no CPU tables
    for args in (["-j", "4"], ["--cut-every", 7], ["--cut-every", 333]):
        _, t2 = run_db("syscalls", tmp_path / "s2.db", out, *args)
        assert model(t2) == model(t), args
    assert sorted(os.listdir(tmp_path)) == ["s.db", "s2.db"]


def test_sqlite_io_fd(rotated, tmp_path):
    """The io report's tables equal its --json (every row: --limit
    1000000); the syscall table holds the latencies; the fd table holds
    the workload's fd of its file from its openat's exit to its close's
    exit (babeltrace2's times), as `reel analyze fd` prints it; -j 4 and
    cuts every 7 events equal -j 1 row for row."""
    out, work = rotated["out"], str(rotated["work"])
    res, t = run_db("io", tmp_path / "io.db", out, "-j", "1", "--limit", "1000000")
    check_trace(res, t, "io")
    key = lambda r: (r["tid"], r["pid"], r["comm"], r["read"], r["write"])  # noqa: E731
    assert sorted(map(key, t["io_thread"])) == sorted(map(key, res["threads"]))
    key = lambda r: (r["pid"], r["comm"], r["read"], r["write"])  # noqa: E731
    assert sorted(map(key, t["io_process"])) == sorted(map(key, res["processes"]))
    files = {}
    for r in t["io_file"]:
        f = files.setdefault((r["file"], None if r["file"] else r["pid"]), {"read": 0, "write": 0, "processes": []})
        f["read"] += r["read"]
        f["write"] += r["write"]
        f["processes"].append({"pid": r["pid"], "read": r["read"], "write": r["write"]})
    assert len(files) == len(res["files"])
    for f in res["files"]:
        mine = files[(f["name"], None if f["name"] else f["processes"][0]["pid"])]
        assert (mine["read"], mine["write"]) == (f["read"], f["write"])
        assert sorted(mine["processes"], key=lambda x: x["pid"]) == f["processes"]
    lat = sorted(((r["syscall"], r["tid"], r["pid"], r["fd"], r["file"], r["entry_ns"], r["exit_ns"] - r["entry_ns"],
                   r["ret"]) for r in t["syscall"]
                  if r["io"] is not None and r["entry_ns"] is not None and r["exit_ns"] is not None),
                 key=lambda x: (-x[6], x[5], x[1]))
    # (a failed open's fd: the JSON prints its ret, the database NULL)
    assert lat == [(l["syscall"], l["tid"], l["pid"], l["fd"] if l["fd"] >= 0 else None, l["file"], l["begin_ns"],
                    l["duration_ns"], l["ret"]) for l in res["latencies"]]
    # bytes of the workload's reads of its file
    for i, pid in enumerate(rotated["pids"]):
        size = len("hello analyses\n") + 19 * i
        reads = [r for r in t["syscall"] if r["pid"] == pid and r["syscall"] == "read" and r["file"] == work]
        assert len(reads) == N and all(r["bytes"] == size == r["ret"] for r in reads), (i, reads[:3])
    # the workload's fd of its file, as `reel analyze fd` and babeltrace2 give it
    evs = bt_ns_events(out) if shutil.which("babeltrace2") else []
    for pid in rotated["pids"]:
        mine = [r for r in t["fd"] if r["pid"] == pid and r["file"] == work]
        assert len(mine) == 1, mine
        r = mine[0]
        assert (r["how"], r["syscall"], r["tid"], r["end_how"], r["end_syscall"], r["end_tid"], r["soft_begin"]) == \
            ("open", "openat", pid, "close", "close", pid, 0), r
        fdres = analyze_fd(out, "--pid", pid, "--fd", r["fd"])
        end = res.get("end_ns") or t["trace"][0]["end_ns"]
        rows = sorted((x for x in t["fd"] if x["pid"] == pid and x["fd"] == r["fd"]), key=lambda x: x["begin_ns"])
        assert [(x["begin_ns"], x["end_ns"] if x["end_ns"] is not None else end, x["file"], x["how"], x["end_how"])
                for x in rows] == \
            [(x["begin_ns"], x["end_ns"], x["file"], x["how"], x["end"]) for x in fdres["intervals"]]
        if evs:
            ts = [e for e in evs if e[1].startswith("syscall_") and e[2].get("tid") == pid]
            i = next(i for i, (_, n, f) in enumerate(ts)
                     if n in ("syscall_entry_openat", "syscall_entry_open") and f.get("filename") == work)
            t_open = next(e[0] for e in ts[i + 1:] if e[1].startswith("syscall_exit_open"))
            j = next(j for j, (_, n, f) in enumerate(ts) if j > i and n == "syscall_entry_close" and f.get("fd") == r["fd"])
            t_close = next(e[0] for e in ts[j + 1:] if e[1] == "syscall_exit_close")
            assert (r["begin_ns"], r["end_ns"]) == (t_open, t_close), (r, t_open, t_close)
    # fd: the same database (the whole model, whatever --pid/--fd)
    _, tf = run_db("fd", tmp_path / "fd.db", out, "--pid", rotated["pids"][0], "--fd", 3)
    assert model(tf) == model(t)
    for args in (["-j", "4"], ["--cut-every", 7]):
        _, t2 = run_db("io", tmp_path / "io2.db", out, *args)
        assert model(t2) == model(t), args


def test_sqlite_cpu(cpu_traces, tmp_path):
    """The cpu report's tables equal its --json (every row); -j 4 and cuts
    every 7 events equal -j 1 row for row."""
    for name in ("rot",):
        out = cpu_traces[name]["out"]
        res, t = run_db("cpu", tmp_path / "c.db", out, "-j", "1", "--limit", "1000000")
        check_trace(res, t, "cpu")
        # (the JSON prints usage with 6 decimals, averages with 3)
        assert round(t["trace"][0]["cpu_usage"], 6) == res["usage"]
        key = lambda r: (r["tid"], r["pid"], r["comm"], r["cpu_ns"], round(r["usage"], 6))  # noqa: E731
        assert sorted(map(key, t["cpu_thread"])) == sorted(map(key, res["threads"]))
        key = lambda r: (r["pid"], r["comm"], r["cpu_ns"], round(r["usage"], 6))  # noqa: E731
        assert sorted(map(key, t["cpu_process"])) == sorted(map(key, res["processes"]))
        assert sorted((r["cpu"], r["busy_ns"], r["idle_ns"], round(r["usage"], 6)) for r in t["cpu"]) == \
            sorted((r["cpu"], r["busy_ns"], r["idle_ns"], r["usage"]) for r in res["cpus"])
        wk = [(r["tid"], r["wakeups"], r["wakeup_min_ns"], r["wakeup_max_ns"], r["wakeup_sum_ns"],
               round(r["wakeup_avg_ns"], 3), r["wakeup_p99_ns"]) for r in t["cpu_thread"] if r["wakeups"]]
        assert sorted(wk) == sorted((r["tid"], r["count"], r["min_ns"], r["max_ns"], r["sum_ns"], r["avg_ns"],
                                     r["p99_ns"]) for r in res["wakeup_latency"])
        assert t["cpu_thread"] and t["cpu"]
        for args in (["-j", "4"], ["--cut-every", 7]):
            _, t2 = run_db("cpu", tmp_path / "c2.db", out, *args)
            assert model(t2) == model(t), (name, args)


def test_sqlite_phases(phase_trace, tmp_path):
    out = phase_trace["out"]
    args = [out, "--begin", "kwork:mark", "--end", "kwork:mark", "--by", "step"]
    res, t = run_db("phases", tmp_path / "p.db", *args, "-j", "1")
    check_trace(res, t, "phases")
    tr = t["trace"][0]
    assert (tr["phase_begin"], tr["phase_end"], tr["phase_by"]) == ("kwork:mark", "kwork:mark", "step")
    assert sorted((g["group"], g["phases"], g["open"], g["time_ns"]) for g in res["groups"]) == \
        sorted((g["group_name"], g["phases"], g["open"], g["time_ns"]) for g in t["phase_group"])
    assert sorted((g["group"], s["name"], s["count"], s["total_ns"], s["min_ns"], s["max_ns"])
                  for g in res["groups"] for s in g["syscalls"]) == \
        sorted((r["group_name"], r["syscall"], r["count"], r["total_ns"], r["min_ns"], r["max_ns"])
               for r in t["phase_syscall"])
    # the phase spans: closed ones sum to each group's time, open ones have no end
    for g in res["groups"]:
        mine = [p for p in t["phase"] if p["group_name"] == g["group"]]
        closed = [p for p in mine if p["end_ns"] is not None]
        assert len(closed) == g["phases"] and len(mine) - len(closed) == g["open"]
        assert sum(p["end_ns"] - p["begin_ns"] for p in closed) == g["time_ns"]
        assert all(p["tid"] == phase_trace["pid"] for p in mine)
    # the log holds every syscall: the workload's lseeks inside phase 1
    p1, = [p for p in t["phase"] if p["group_name"] == "1"]
    ls = [r for r in t["syscall"] if r["tid"] == phase_trace["pid"] and r["syscall"] == "lseek"
          and p1["begin_ns"] <= r["entry_ns"] and r["exit_ns"] <= p1["end_ns"]]
    assert len(ls) == N
    for a in (["-j", "4"], ["--cut-every", 7]):
        _, t2 = run_db("phases", tmp_path / "p2.db", *args, *a)
        assert model(t2) == model(t), a


def test_sqlite_unwritable(rotated, tmp_path):
    """A database where none can be written: a clear message, exit 1,
    before the analysis; nothing left behind."""
    (tmp_path / "file").write_text("x")
    for db in (tmp_path / "file" / "x.db", tmp_path / "nodir" / "x.db"):
        p = subprocess.run([str(REEL), "analyze", "syscalls", "--quiet", "--sqlite", str(db), str(rotated["out"])],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 1 and str(db) in p.stderr and "cannot create" in p.stderr, (p.returncode, p.stderr)
        assert p.stdout == ""
    assert os.listdir(tmp_path) == ["file"]
    # a directory in the way of the rename: the run fails, no temporary file stays
    (tmp_path / "d.db").mkdir()
    (tmp_path / "d.db" / "x").write_text("x")
    p = subprocess.run([str(REEL), "analyze", "syscalls", "--quiet", "--sqlite", str(tmp_path / "d.db"),
                        str(rotated["out"])], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "d.db" in p.stderr, (p.returncode, p.stderr)
    assert sorted(os.listdir(tmp_path)) == ["d.db", "file"]


def test_sqlite_not_regular(rotated, tmp_path):
    """--sqlite FILE replaces a regular file only: a FIFO (or /dev/null
    for root) at FILE is an error, left as it is; a symbolic link has its
    target replaced, and stays a link."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    p = subprocess.run([str(REEL), "analyze", "syscalls", "--quiet", "--sqlite", str(fifo), str(rotated["out"])],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and str(fifo) in p.stderr and "not a regular file" in p.stderr, (p.returncode, p.stderr)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["fifo"]
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "t.db").write_text("old")
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "dir" / "t.db")
    p = subprocess.run([str(REEL), "analyze", "syscalls", "--quiet", "--sqlite", str(link), str(rotated["out"])],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert link.is_symlink()
    con = sqlite3.connect(f"file:{tmp_path / 'dir' / 't.db'}?mode=ro", uri=True)
    try:
        assert con.execute("SELECT count(*) FROM trace").fetchone()[0] == 1
    finally:
        con.close()
    assert sorted(os.listdir(tmp_path / "dir")) == ["t.db"]
