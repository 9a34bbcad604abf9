# SPDX-License-Identifier: MIT
"""System test of issue 8's whole path (doc/dist.md, doc/metrics.md): a
real nats-server, three `reel worker`s, a reeld session recording the
kernel workload (tests/kernel/kworkload.c) with timer rotation and
`--publish`, and a follower `reel analyze syscalls --follow OUTPUT
--engine URL --metrics` whose chunks the workers map; one worker is
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
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "analysis"))
from test_dist import NATS, Broker, Worker, free_port, rotations, wait_until  # noqa: E402
from test_follow import (N, PROMETHEUS, Follower, Prometheus, batch, check_syscalls,  # noqa: E402
                         metric, per_process, sel)
from test_kernel import REEL, SCHED, Daemon, _why_not, kworkload, stop_and_check  # noqa: E402


def analyze(*args):
    return subprocess.run([str(REEL), "analyze", "--quiet"] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


def test_follow_engine_errors(tmp_path):
    """No broker at URL: a clear error at start, exit 1; --session is the
    batch's (the follower finds its chunks in OUTPUT)."""
    url = f"nats://127.0.0.1:{free_port()}"
    p = analyze("syscalls", "--follow", tmp_path, "--engine", url, "--metrics", "127.0.0.1:0")
    assert p.returncode == 1 and "cannot reach the broker at " + url in p.stderr, p.stderr
    assert "Serving the metrics" not in p.stderr
    p = analyze("syscalls", "--follow", tmp_path, "--engine", url, "--session", "s")
    assert p.returncode != 0 and "not with --session" in p.stderr, p.stderr
