# SPDX-License-Identifier: MIT
"""System tests of `reel analyze` (src/analysis, doc/analysis.md) on real
kernel traces of the known workload (tests/kernel/kworkload.c) recorded by
a real reeld: chunked equals sequential (rotations, and one trace cut at
many points), LTTng-analyses' numbers, strace's counts, lost events.

Root and tracefs only: skips otherwise. REEL_BUILD_DIR names the build.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernel"))
from test_kernel import (BUILD, KWORK, REEL, SCHED, Daemon, _why_not,  # noqa: E402
                         kworkload, kworkload_result, stop_and_check)

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
        d.reel("create", "an", "-o", out)
        d.reel("add-context", "-k", "-t", "tid")
        d.reel("enable-channel", "-k", "channel0", "--subbuf-size", "1M", "--num-subbuf", "16")
        d.reel("enable-event", "-k", SCHED)
        d.reel("enable-event", "-k", "--syscall", "-a")
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
