# SPDX-License-Identifier: MIT
"""System tests of the session daemon: a real reeld on a private run
directory, the real `reel` command, real instrumented applications (several
at once, started before and after `start`, killed, outliving the daemon),
and the traces read back by Debian's babeltrace2.

Run with Debian's Python: /usr/bin/python3 -m pytest tests/sessiond.
REEL_BUILD_DIR names the meson build directory (default: build).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("REEL_BUILD_DIR", "build")).resolve()
REEL = BUILD / "src" / "cli" / "reel"
REELD = BUILD / "src" / "sessiond" / "reeld"
APP = BUILD / "tests" / "daemon-app"

sys.path.insert(0, "/usr/lib/python3/dist-packages")
bt2 = pytest.importorskip("bt2")


class Daemon:
    """A reeld of its own: private run directory and home, stopped by pid."""

    def __init__(self, tmp_path):
        # Socket paths must fit in sun_path: a short directory in /tmp.
        self.rundir = tempfile.mkdtemp(prefix="reel-t-", dir="/tmp")
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REEL_")}
        self.env.update({"REEL_RUNDIR": self.rundir, "HOME": str(self.home),
                         "REEL_SESSIOND_PATH": str(REELD)})
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([str(REELD), "--rundir", self.rundir], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        sock = Path(self.rundir) / "client.sock"
        while not sock.exists():
            assert self.proc.poll() is None, self.proc.stderr.read()
            assert time.time() < deadline, "reeld did not start"
            time.sleep(0.01)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("reeld did not exit on SIGTERM")
        if self.proc and self.proc.returncode not in (0, None) and self.proc.stderr:
            sys.stderr.write(self.proc.stderr.read().decode(errors="replace")[-4000:])
        return self.proc.returncode if self.proc else None

    def reel(self, *args, check=True):
        p = subprocess.run([str(REEL)] + [str(a) for a in args], env=self.env,
                           capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, f"reel {' '.join(map(str, args))}: {p.stderr}"
        return p

    def app(self, *args, **kw):
        return subprocess.Popen([str(APP)] + [str(a) for a in args], env=self.env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kw)

    def cleanup(self):
        self.stop()
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        shutil.rmtree(self.rundir, ignore_errors=True)


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path)
    d.start()
    yield d
    running = d.proc is not None
    code = d.stop()
    d.cleanup()
    assert not running or code == 0, "reeld exited with an error"


def step(app, k):
    """Have a `steps` application run step k and wait for it."""
    app.stdin.write(f"go {k}\n")
    app.stdin.flush()
    line = app.stdout.readline()
    assert line == f"done {k}\n", (line, app.stderr.read() if app.poll() is not None else "")


def finish(app):
    app.stdin.close()
    assert app.wait(timeout=30) == 0, app.stderr.read()


def wait_registered(d, app_proc, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        apps = json.loads(d.reel("--json", "list", "-u").stdout)["apps"]
        if [a for a in apps if a["pid"] == app_proc.pid]:
            return
        time.sleep(0.05)
    raise AssertionError(f"app {app_proc.pid} never registered")


def field_value(v):
    """An integer field as an int; strings and arrays (statedump) as text."""
    try:
        return int(v)
    except TypeError:
        return str(v)


def read_trace(path):
    """(events as (name, payload dict), discarded count) of every trace under path."""
    events, discarded = [], 0
    for msg in bt2.TraceCollectionMessageIterator(str(path)):
        if type(msg) is bt2._EventMessageConst:
            ev = msg.event
            events.append((ev.name, {k: field_value(v) for k, v in ev.payload_field.items()}))
        elif type(msg) is bt2._DiscardedEventsMessageConst:
            discarded += msg.count or 0
    return events, discarded


def babeltrace_ok(path):
    p = subprocess.run(["babeltrace2", str(path)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout.splitlines()


def steps_of(events, k):
    return [e["i"] for n, e in events if n == "dapp:step" and e["step"] == k]


def test_apps_before_and_after_start(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "s1", "--output", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    early = daemon.app("steps", 2000)
    wait_registered(daemon, early)
    daemon.reel("start")
    late = daemon.app("steps", 2000)
    step(early, 1)
    step(late, 2)
    finish(early)
    finish(late)
    daemon.reel("stop")
    daemon.reel("destroy")
    trace_dir = out / "ust" / "uid" / str(os.getuid()) / "64-bit"
    assert (trace_dir / "metadata").is_file()
    assert sorted(p.name for p in trace_dir.iterdir() if p.name != "metadata") == sorted(
        f"channel0_{c}" for c in range(os.sysconf("SC_NPROCESSORS_CONF")))
    events, discarded = read_trace(out)
    assert discarded == 0
    assert steps_of(events, 1) == list(range(2000))
    assert steps_of(events, 2) == list(range(2000))
    assert not [n for n, _ in events if n != "dapp:step"]
    assert len(babeltrace_ok(out)) == 4000


def test_enablement_changes_in_running_apps(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "s2", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("enable-event", "-u", "dapp:noisy")
    daemon.reel("start")
    app = daemon.app("steps", 500)
    step(app, 0)
    daemon.reel("disable-event", "-u", "dapp:noisy")
    step(app, 1)
    daemon.reel("enable-event", "-u", "dapp:*")
    step(app, 2)
    daemon.reel("disable-event", "-u", "-a")
    step(app, 3)
    finish(app)
    daemon.reel("stop")
    events, _ = read_trace(out)
    counts = Counter(n for n, _ in events)
    assert counts == {"dapp:step": 1500, "dapp:noisy": 1000}
    for k in (0, 1, 2):
        assert steps_of(events, k) == list(range(500))
    assert steps_of(events, 3) == []
    # Events in program order: phase 0's noisy events, then none, then phase 2's.
    order = [(n, e["step"] if n == "dapp:step" else None) for n, e in events]
    noisy_at = [i for i, (n, _) in enumerate(order) if n == "dapp:noisy"]
    first_step1 = order.index(("dapp:step", 1))
    last_step1 = len(order) - 1 - order[::-1].index(("dapp:step", 1))
    assert not [i for i in noisy_at if first_step1 <= i <= last_step1]


def test_several_sessions_and_channels(daemon, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    daemon.reel("create", "sa", "-o", a)
    daemon.reel("enable-channel", "-u", "small", "--subbuf-size", "16k", "--num-subbuf", "4")
    daemon.reel("enable-channel", "-u", "big", "--subbuf-size", "1M", "--num-subbuf", "8")
    daemon.reel("enable-event", "-u", "-c", "small", "dapp:noisy")
    daemon.reel("enable-event", "-u", "-c", "big", "dapp:step")
    daemon.reel("start")
    daemon.reel("create", "sb", "-o", b)
    daemon.reel("enable-event", "-u", "-a", "-s", "sb")
    daemon.reel("start", "sb")
    apps = [daemon.app("steps", 300) for _ in range(3)]
    for k, app in enumerate(apps):
        step(app, k)
    for app in apps:
        finish(app)
    daemon.reel("stop", "sa")
    daemon.reel("stop", "sb")
    events_a, _ = read_trace(a)
    events_b, _ = read_trace(b)
    assert Counter(n for n, _ in events_a) == {"dapp:step": 900, "dapp:noisy": 900}
    # -a records the applications' statedump too, as with LTTng.
    assert Counter(n for n, _ in events_b if n.startswith("dapp:")) == \
        {"dapp:step": 900, "dapp:noisy": 900}
    assert Counter(n for n, _ in events_b)["lttng_ust_statedump:start"] == 3
    uid_dir = a / "ust" / "uid" / str(os.getuid()) / "64-bit"
    names = {p.name.rsplit("_", 1)[0] for p in uid_dir.iterdir() if p.name != "metadata"}
    assert names == {"small", "big"}
    status = daemon.reel("--json", "list", "sa").stdout
    assert '"small"' in status and '"big"' in status
    daemon.reel("destroy", "sa")
    daemon.reel("destroy", "sb")


def test_per_process_buffers(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "pp", "-o", out)
    daemon.reel("enable-channel", "-u", "--buffers-pid", "chan")
    daemon.reel("enable-event", "-u", "-c", "chan", "dapp:step")
    daemon.reel("start")
    apps = [daemon.app("steps", 100) for _ in range(2)]
    for app in apps:
        step(app, 7)
        finish(app)
    daemon.reel("destroy")
    dirs = sorted((out / "ust" / "pid").iterdir())
    # <procname>-<pid>-<date>-<time>, as LTTng names per-process traces.
    assert sorted(d.name.split("-")[2] for d in dirs) == sorted(str(a.pid) for a in apps)
    for d in dirs:
        assert d.name.startswith("daemon-app-")
        events, _ = read_trace(d)
        assert steps_of(events, 7) == list(range(100))


def test_sigkilled_app_keeps_what_it_committed(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "k", "-o", out)
    daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "256k", "--num-subbuf", "16")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("start")
    spinner = daemon.app("spin")
    reached = 0
    while reached < 200000:
        line = spinner.stdout.readline()
        assert line.startswith("at "), spinner.stderr.read()
        reached = int(line.split()[1])
    spinner.send_signal(signal.SIGKILL)
    spinner.wait()
    # The daemon goes on serving other applications.
    other = daemon.app("steps", 1000)
    step(other, 5)
    finish(other)
    daemon.reel("stop")
    daemon.reel("destroy")
    events, discarded = read_trace(out)
    assert discarded == 0
    spun = steps_of(events, 0)
    assert len(spun) >= reached
    assert spun == list(range(len(spun))), "a gap in what the killed application committed"
    assert steps_of(events, 5) == list(range(1000))
    babeltrace_ok(out)


def test_destroy_while_apps_write(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "d", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("start")
    spinner = daemon.app("spin")
    line = spinner.stdout.readline()
    assert line.startswith("at ")
    before = int(line.split()[1])  # committed before the destroy began
    daemon.reel("destroy")
    spinner.stdout.readline()
    assert spinner.poll() is None, "the application must go on"
    spinner.kill()
    spinner.wait()
    events, _ = read_trace(out)
    spun = steps_of(events, 0)
    assert spun == list(range(len(spun)))
    assert before <= len(spun)
    babeltrace_ok(out)


def test_daemon_killed_apps_go_on(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "dk", "-o", out)
    daemon.reel("enable-event", "-u", "-a")
    daemon.reel("start")
    app = daemon.app("steps", 20000)
    step(app, 0)
    time.sleep(0.5)  # the consumer writes the metadata and full packets
    daemon.proc.kill()
    daemon.proc.wait()
    daemon.proc = None
    t0 = time.time()
    for k in range(1, 6):
        step(app, k)
    finish(app)
    assert time.time() - t0 < 10
    # What the daemon wrote before it died is a readable trace.
    babeltrace_ok(out)


def test_app_without_daemon_starts_at_once(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEL_")}
    rundir = tempfile.mkdtemp(prefix="reel-t-", dir="/tmp")
    env["REEL_RUNDIR"] = rundir
    try:
        t0 = time.time()
        p = subprocess.run([str(APP), "steps", "1000"], input="go 1\n", env=env,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stdout == "done 1\n"
        assert time.time() - t0 < 2
    finally:
        shutil.rmtree(rundir, ignore_errors=True)


def test_app_registers_when_daemon_appears(tmp_path):
    d = Daemon(tmp_path)
    try:
        app = d.app("steps", 100)
        time.sleep(0.3)
        d.start()
        wait_registered(d, app)
        out = tmp_path / "trace"
        d.reel("create", "late", "-o", out)
        d.reel("enable-event", "-u", "dapp:step")
        d.reel("start")
        step(app, 3)
        finish(app)
        d.reel("destroy")
        events, _ = read_trace(out)
        assert steps_of(events, 3) == list(range(100))
        assert d.stop() == 0
    finally:
        d.cleanup()


def control_socket(d):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(os.path.join(d.rundir, "client.sock"))
    return s


@pytest.mark.parametrize("payload", [
    b"garbage that is not a message at all",
    struct.pack("<IHHII", 0x4c45524d, 1, 45, 0xFFFFFFF, 0),        # huge length
    struct.pack("<IHHII", 0x4c45524d, 9, 45, 0, 0),                # wrong version
    struct.pack("<IHHII", 0x4c45524d, 1, 999, 0, 0),               # unknown request
    struct.pack("<IHHII", 0x4c45524d, 1, 40, 12, 0) + struct.pack("<HHI", 42, 0, 99) + b"xxxx",
])
def test_garbage_on_control_socket(daemon, payload):
    s = control_socket(daemon)
    s.sendall(payload)
    try:
        reply = s.recv(4096)
    except (ConnectionResetError, socket.timeout):
        reply = b""
    if reply:
        magic, version, mtype, length, nfds = struct.unpack("<IHHII", reply[:16])
        assert (magic, mtype) == (0x4c45524d, 60)
        tag, _, flen = struct.unpack("<HHI", reply[16:24])
        status, = struct.unpack("<q", reply[24:32])
        assert tag == 40 and status < 0
    s.close()
    assert daemon.reel("list").returncode == 0
    assert daemon.proc.poll() is None


def test_garbage_on_app_socket(daemon, tmp_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(daemon.rundir, "app.sock"))
    try:
        s.sendall(struct.pack("<IHHII", 0x4c45524d, 1, 2, 16, 0) + b"\xff" * 16)
        s.sendall(os.urandom(4096))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the daemon closed on the first bad message: what it should do
    s.close()
    out = tmp_path / "trace"
    daemon.reel("create", "g", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 10)
    step(app, 1)
    finish(app)
    daemon.reel("destroy")
    assert steps_of(read_trace(out)[0], 1) == list(range(10))


def as_nobody(*cmd):
    return ["runuser", "-u", "nobody", "--"] + [str(c) for c in cmd]


def test_users_are_kept_apart(daemon, tmp_path):
    """root's daemon: other users cannot control it; their applications
    trace into buffers and a trace of their own."""
    if os.getuid() != 0:
        pytest.skip("needs root to run commands as another user")
    if shutil.which("runuser") is None:
        pytest.skip("runuser is missing")
    probe = subprocess.run(as_nobody("test", "-x", APP), capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"{APP} is not executable by nobody")
    p = subprocess.run(as_nobody(REEL, "list"), env=daemon.env, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1
    assert p.stderr.startswith("reel list: ")
    out = tmp_path / "trace"
    out.mkdir()
    os.chmod(tmp_path, 0o755)
    daemon.reel("create", "u", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("start")
    mine = daemon.app("steps", 100)
    theirs = subprocess.Popen(as_nobody(APP, "steps", 100), env=daemon.env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    wait_registered(daemon, mine)
    step(mine, 1)
    step(theirs, 2)
    apps = json.loads(daemon.reel("--json", "list", "-u").stdout)["apps"]
    assert sorted(a["uid"] for a in apps) == [0, 65534]
    finish(mine)
    finish(theirs)
    daemon.reel("destroy")
    root_events, _ = read_trace(out / "ust" / "uid" / "0")
    nobody_events, _ = read_trace(out / "ust" / "uid" / "65534")
    assert steps_of(root_events, 1) == list(range(100)) and not steps_of(root_events, 2)
    assert steps_of(nobody_events, 2) == list(range(100)) and not steps_of(nobody_events, 1)


def test_status_reports_rate_and_counts(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "st", "-o", out)
    daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "64k", "--num-subbuf", "4",
                "--switch-timer", "100000")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 50000)
    step(app, 1)
    time.sleep(0.5)
    status = daemon.reel("status").stdout
    assert "st" in status and "MB/s" in status
    finish(app)
    daemon.reel("stop")
    channel = json.loads(daemon.reel("--json", "list", "st").stdout)["channels"][0]
    daemon.reel("destroy")
    # A burst larger than the buffers: what was not recorded is counted,
    # the same by the daemon and in the trace.
    events, discarded = read_trace(out)
    recorded = len(steps_of(events, 1))
    assert recorded + discarded == 50000
    assert channel["events_discarded"] == discarded
    assert channel["bytes_written"] == sum(
        p.stat().st_size for p in out.rglob("c_*"))


def test_context_fields(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "ctx", "-o", out)
    daemon.reel("enable-channel", "-u", "c")
    daemon.reel("add-context", "-u", "-t", "vpid", "-t", "vtid", "-t", "procname")
    daemon.reel("add-context", "-u", "-c", "c", "-t", "cpu_id")
    bad = daemon.reel("add-context", "-u", "-t", "nonsense", check=False)
    assert bad.returncode == 2 and "unknown context type" in bad.stderr
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:*")
    channel = json.loads(daemon.reel("--json", "list", "ctx").stdout)["channels"][0]
    assert channel["contexts"] == ["vpid", "vtid", "procname", "cpu_id"]
    daemon.reel("start")
    late = daemon.reel("add-context", "-u", "-t", "pthread_id", check=False)
    assert late.returncode == 1 and "cannot be added" in late.stderr
    apps = [daemon.app("steps", 200) for _ in range(2)]
    for k, app in enumerate(apps):
        step(app, k)
        finish(app)
    daemon.reel("destroy")
    seen = Counter()
    for msg in bt2.TraceCollectionMessageIterator(str(out)):
        if type(msg) is bt2._EventMessageConst:
            ctx = msg.event.common_context_field
            step_no = int(msg.event.payload_field["step"]) if msg.event.name == "dapp:step" else None
            pid = int(ctx["vpid"])
            assert pid == int(ctx["vtid"])  # single-threaded
            assert str(ctx["procname"]) == "daemon-app"
            assert 0 <= int(ctx["cpu_id"]) < os.sysconf("SC_NPROCESSORS_CONF")
            if step_no is not None:
                assert pid == apps[step_no].pid
            seen[msg.event.name] += 1
    assert seen == {"dapp:step": 400, "dapp:noisy": 400}
    # The trace reads the same with babeltrace2's CLI.
    lines = babeltrace_ok(out)
    assert f"vpid = {apps[0].pid}, vtid = {apps[0].pid}, procname = \"daemon-app\"" in lines[0]


def test_user_daemon_is_private():
    """An ordinary user's daemon: its user traces with it; another user
    can neither control it, nor have it trace their applications."""
    if os.getuid() != 0:
        pytest.skip("needs root to run daemons as other users")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is missing")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    other = ["setpriv", "--reuid=1", "--regid=1", "--clear-groups", "--"]
    if subprocess.run(nobody + ["test", "-x", str(REELD)]).returncode != 0:
        pytest.skip(f"{REELD} is not executable by nobody")
    # Outside pytest's directories, which only root may enter.
    rundir = tempfile.mkdtemp(prefix="reel-t-", dir="/tmp")
    home = Path(tempfile.mkdtemp(prefix="reel-h-", dir="/tmp"))
    for p in (rundir, home):
        os.chown(p, 65534, 65534)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEL_")}
    env.update({"REEL_RUNDIR": rundir, "HOME": str(home)})
    daemon = subprocess.Popen(nobody + [str(REELD), "--rundir", rundir], env=env,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while not os.path.exists(os.path.join(rundir, "client.sock")):
            assert daemon.poll() is None, daemon.stderr.read()
            assert time.time() < deadline
            time.sleep(0.01)
        assert os.stat(rundir).st_mode & 0o777 == 0o700

        def reel(prefix, *args):
            return subprocess.run(prefix + [str(REEL)] + list(args), env=env,
                                  capture_output=True, text=True, timeout=60)
        out = home / "trace"
        assert reel(nobody, "create", "mine", "-o", str(out)).returncode == 0
        assert reel(nobody, "enable-event", "-u", "dapp:step").returncode == 0
        assert reel(nobody, "start").returncode == 0
        # Another user cannot control it.
        p = reel(other, "list")
        assert p.returncode == 1 and "reel list:" in p.stderr
        # root's application does not accept another user's daemon.
        p = subprocess.run([str(APP), "steps", "10"], input="go 9\n", env=env,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0
        # Its own user's application is traced.
        p = subprocess.run(nobody + [str(APP), "steps", "10"], input="go 4\n", env=env,
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stdout == "done 4\n"
        assert reel(nobody, "destroy").returncode == 0
        events, _ = read_trace(out)
        assert steps_of(events, 4) == list(range(10))
        assert steps_of(events, 9) == []
        assert [p.name for p in (out / "ust" / "uid").iterdir()] == ["65534"]
    finally:
        daemon.terminate()
        assert daemon.wait(timeout=20) == 0
        shutil.rmtree(rundir, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


def test_ld_preload(daemon, tmp_path):
    """An application built with REEL_DYNAMIC_LINKAGE runs untraced without
    libreel-ust, and traced when the library is preloaded."""
    app = BUILD / "tests" / "daemon-app-dynamic"
    lib = BUILD / "src" / "libreel-ust.so.1"
    ldd = subprocess.run(["ldd", str(app)], capture_output=True, text=True).stdout
    assert "libreel-ust" not in ldd
    # A sanitized build's runtime must come first in the library list.
    preload = [l.split("=>")[1].split()[0] for l in ldd.splitlines()
               if "libasan" in l and "=>" in l] + [str(lib)]
    out = tmp_path / "trace"
    daemon.reel("create", "pre", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("start")
    plain = subprocess.run([str(app), "steps", "10"], input="go 1\n", env=daemon.env,
                           capture_output=True, text=True, timeout=30)
    assert plain.returncode == 0 and plain.stdout == "done 1\n", plain.stderr
    env = dict(daemon.env, LD_PRELOAD=" ".join(preload))
    traced = subprocess.run([str(app), "steps", "10"], input="go 2\n", env=env,
                            capture_output=True, text=True, timeout=30)
    assert traced.returncode == 0 and traced.stdout == "done 2\n", traced.stderr
    daemon.reel("destroy")
    events, _ = read_trace(out)
    assert steps_of(events, 1) == []
    assert steps_of(events, 2) == list(range(10))


def test_overwrite_channel_keeps_the_latest(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "ow", "-o", out)
    daemon.reel("enable-channel", "-u", "ring", "--overwrite", "--subbuf-size", "4k",
                "--num-subbuf", "4")
    daemon.reel("enable-event", "-u", "-c", "ring", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 100000)
    step(app, 1)
    finish(app)
    daemon.reel("stop")
    daemon.reel("destroy")
    babeltrace_ok(out)
    spun = steps_of(read_trace(out)[0], 1)
    # The newest events are there, in order; the buffers (16 KiB per CPU)
    # cannot hold all 100000 (1.2 MB).
    assert spun and spun[-1] == 99999
    assert spun == sorted(set(spun))
    assert len(spun) < 100000


def test_switch_timer_flushes_quiet_streams(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "sw", "-o", out)
    daemon.reel("enable-channel", "-u", "c", "--switch-timer", "100000")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 10)
    step(app, 1)
    # A packet of ten events never fills: the timer closes it, and the
    # trace on disk has them while the session still runs.
    deadline = time.time() + 10
    while time.time() < deadline:
        if sum(p.stat().st_size for p in out.rglob("c_*")) > 0:
            break
        time.sleep(0.05)
    assert steps_of(read_trace(out)[0], 1) == list(range(10))
    finish(app)
    daemon.reel("destroy")


# ---- a fake application speaking the protocol (doc/sessiond.md) ----------

MAGIC = 0x4c45524d
HELLO, EVENTS, TARGETS, ACK = 1, 2, 21, 23
T_ABI, T_PROC, T_BITS, T_EVENT, T_ID, T_PROV, T_NAME, T_LL, T_FIELD, T_FTYPE, T_FLEN = range(1, 12)
T_SEQ = 19
INT64 = 1 | 64 << 8 | 1 << 16 | 10 << 24


def field(tag, data):
    return struct.pack("<HHI", tag, 0, len(data)) + data


def u64(tag, v):
    return field(tag, struct.pack("<Q", v))


def text(tag, v):
    return field(tag, v.encode() + b"\0")


def message(mtype, payload):
    return struct.pack("<IHHII", MAGIC, 1, mtype, len(payload), 0) + payload


def event_record(eid, provider, name, fields=(("x", INT64),)):
    p = field(T_EVENT, b"") + u64(T_ID, eid) + text(T_PROV, provider) + text(T_NAME, name)
    p += field(T_LL, struct.pack("<q", 6))
    for fname, ftype in fields:
        p += text(T_FIELD, fname) + u64(T_FTYPE, ftype) + u64(T_FLEN, 0)
    return p


class FakeApp:
    def __init__(self, d, procname="fake"):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(os.path.join(d.rundir, "app.sock"))
        abi = (2 << 32) | 2
        self.sock.sendall(message(HELLO, u64(T_ABI, abi) + text(T_PROC, procname) + u64(T_BITS, 64)))

    def send_events(self, seq, *records):
        self.sock.sendall(message(EVENTS, u64(T_SEQ, seq) + b"".join(records)))

    def recv(self):
        """(type, seq) of the next message; descriptors are closed."""
        head = b""
        while len(head) < 16:
            data, anc, _, _ = self.sock.recvmsg(16 - len(head), socket.CMSG_SPACE(64))
            if not data:
                raise EOFError
            for _, _, fds in anc:
                for (fd,) in struct.iter_unpack("i", fds[:len(fds) - len(fds) % 4]):
                    os.close(fd)
            head += data
        _, _, mtype, length, _ = struct.unpack("<IHHII", head)
        body = b""
        while len(body) < length:
            chunk = self.sock.recv(length - len(body))
            if not chunk:
                raise EOFError
            body += chunk
        seq, i = None, 0
        while i < len(body):
            tag, _, n = struct.unpack_from("<HHI", body, i)
            if tag == T_SEQ:
                seq, = struct.unpack_from("<Q", body, i + 8)
            i += 8 + n
        return mtype, seq

    def wait_ack(self, seq):
        while True:
            mtype, s = self.recv()
            if mtype == TARGETS:
                self.sock.sendall(message(ACK, u64(T_SEQ, s)))
            elif mtype == ACK and s == seq:
                return


def test_half_messages_do_not_stall_the_daemon(daemon):
    peers = []
    for _ in range(10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(daemon.rundir, "app.sock"))
        s.send(b"MRE")
        peers.append(s)
    for _ in range(5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(daemon.rundir, "client.sock"))
        s.send(struct.pack("<IHHII", MAGIC, 1, 48, 100, 0) + b"xx")
        peers.append(s)
    t0 = time.time()
    daemon.reel("list")
    app = daemon.app("steps", 10)
    step(app, 1)
    finish(app)
    # Before, each half message held the daemon for seconds.
    assert time.time() - t0 < 5
    for s in peers:
        s.close()


def test_events_registered_while_the_daemon_waits(daemon, tmp_path):
    """A provider registering (dlopen) while the daemon waits for this
    application's acknowledgement of new enablement still gets an answer."""
    daemon.reel("create", "w", "-o", tmp_path / "trace")
    daemon.reel("start")
    fake = FakeApp(daemon)
    fake.send_events(1, event_record(0, "fake", "a"))
    fake.wait_ack(1)
    enable = subprocess.Popen([str(REEL), "enable-event", "-u", "fake:*"], env=daemon.env)
    while True:
        mtype, seq = fake.recv()
        if mtype == TARGETS:
            fake.send_events(2, event_record(1, "fake", "b"))
            time.sleep(0.1)
            fake.sock.sendall(message(ACK, u64(T_SEQ, seq)))
            break
    assert enable.wait(timeout=30) == 0
    fake.wait_ack(2)
    fake.sock.close()


def test_bad_field_names_are_refused(daemon, tmp_path):
    """Names end up in the TSDL metadata: an application cannot inject any."""
    out = tmp_path / "trace"
    daemon.reel("create", "inj", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:*")
    daemon.reel("start")
    evil = FakeApp(daemon, "evil")
    evil.send_events(1, event_record(0, "dapp", "step", fields=(("x; } := garbage {", INT64),)))
    with pytest.raises((EOFError, ConnectionResetError)):
        evil.wait_ack(1)
    app = daemon.app("steps", 10)
    step(app, 1)
    finish(app)
    daemon.reel("destroy")
    assert steps_of(read_trace(out)[0], 1) == list(range(10))
    babeltrace_ok(out)


@pytest.mark.parametrize("buffers", ["uid", "pid"])
def test_fork_child_registers_before_it_runs(daemon, tmp_path, buffers):
    out = tmp_path / "trace"
    daemon.reel("create", "f", "-o", out)
    daemon.reel("enable-channel", "-u", f"--buffers-{buffers}", "c")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("start")
    p = subprocess.run([str(APP), "fork", "500"], env=daemon.env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    child = int(p.stdout.split()[1])
    daemon.reel("destroy")
    events, discarded = read_trace(out)
    assert discarded == 0
    for k in (1, 2, 3):
        assert steps_of(events, k) == list(range(500)), k
    if buffers == "pid":
        names = sorted(d.name.split("-")[2] for d in (out / "ust" / "pid").iterdir())
        assert str(child) in names and len(names) == 2


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_exited_processes_release_their_buffers(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "pp", "-o", out)
    daemon.reel("enable-channel", "-u", "--buffers-pid", "c")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("start")
    def run_apps(n):
        for k in range(n):
            p = subprocess.run([str(APP), "steps", "5"], input=f"go {k}\n", env=daemon.env,
                               capture_output=True, text=True, timeout=30)
            assert p.returncode == 0
    run_apps(3)
    time.sleep(1.5)  # each exited process's trace is closed within a second
    base = fd_count(daemon.proc.pid)
    run_apps(20)
    time.sleep(1.5)
    assert fd_count(daemon.proc.pid) <= base + 2
    channel = json.loads(daemon.reel("--json", "list", "pp").stdout)["channels"][0]
    assert channel["packets_written"] >= 23
    daemon.reel("destroy")
    events, _ = read_trace(out)
    for k in range(20):
        assert steps_of(events, k).count(0) >= 1
    assert len(list((out / "ust" / "pid").iterdir())) == 23


def test_a_session_that_cannot_write_does_not_stop_the_others(daemon, tmp_path):
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir()
    (bad / "ust").write_text("not a directory")
    daemon.reel("create", "bad", "-o", bad)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("start")
    daemon.reel("create", "good", "-o", good)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 50)
    step(app, 1)
    finish(app)
    status = json.loads(daemon.reel("--json", "list", "bad").stdout)
    assert "Not a directory" in status["error"]
    stop = daemon.reel("stop", "bad")
    assert "Warning: session bad:" in stop.stderr
    daemon.reel("destroy", "good")
    daemon.reel("destroy", "bad")
    assert steps_of(read_trace(good)[0], 1) == list(range(50))


def test_disk_full_is_counted(daemon, tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root to mount a small file system")
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = mnt / "trace"
        daemon.reel("create", "full", "-o", out)
        daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "64k", "--num-subbuf", "4")
        daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
        daemon.reel("start")
        app = daemon.app("steps", 20000)
        for k in range(5):
            step(app, k)
            time.sleep(0.1)
        finish(app)
        stop = daemon.reel("stop")
        channel = json.loads(daemon.reel("--json", "list", "full").stdout)["channels"][0]
        assert channel["packets_lost"] > 0
        assert "packets were lost" in stop.stderr
        daemon.reel("destroy")
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def test_overwrite_losses_are_reported(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "owl", "-o", out)
    daemon.reel("enable-channel", "-u", "ring", "--overwrite", "--subbuf-size", "4k",
                "--num-subbuf", "4")
    daemon.reel("enable-event", "-u", "-c", "ring", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 100000)
    step(app, 1)
    finish(app)
    stop = daemon.reel("stop")
    channel = json.loads(daemon.reel("--json", "list", "owl").stdout)["channels"][0]
    daemon.reel("destroy")
    assert channel["packets_lost"] > 0
    assert "packets were lost" in stop.stderr
    # babeltrace2 counts the same gaps.
    p = subprocess.run(["babeltrace2", str(out)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    lost = sum(int(l.split("Tracer discarded ")[1].split()[0]) for l in p.stderr.splitlines()
               if "Tracer discarded " in l and " packets " in l)
    # (Rarely, the consumer's count is above the gaps left in the files:
    # under investigation; never below.)
    assert 0 < lost <= channel["packets_lost"]


def test_disable_a_pattern_inside_a_rule(daemon, tmp_path):
    """The issue's example: enable 'dapp:*', then disable 'dapp:noisy*' only;
    and lttng's -x on a rule."""
    out = tmp_path / "trace"
    daemon.reel("create", "sub", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:*")
    daemon.reel("enable-channel", "-u", "x")
    daemon.reel("enable-event", "-u", "-c", "x", "dapp:*", "-x", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 100)
    step(app, 0)
    daemon.reel("disable-event", "-u", "dapp:noisy*")
    rules = json.loads(daemon.reel("--json", "list", "sub").stdout)["channels"]
    assert {c["name"]: c["rules"] for c in rules} == {
        "channel0": ["dapp:*", "dapp:noisy* (disabled)"],
        "x": ["dapp:* (excluding dapp:step)"]}
    step(app, 1)
    daemon.reel("enable-event", "-u", "dapp:noisy*")
    step(app, 2)
    finish(app)
    daemon.reel("destroy")
    # Stream class 0 is channel0, 1 is x (in the order they were created).
    per_channel = {0: Counter(), 1: Counter()}
    for msg in bt2.TraceCollectionMessageIterator(str(out)):
        if type(msg) is bt2._EventMessageConst:
            ev = msg.event
            key = ev.name if ev.name == "dapp:noisy" else (ev.name, int(ev.payload_field["step"]))
            per_channel[ev.stream.cls.id][key] += 1
    # channel0: every step, and noisy but while disabled (step 1).
    assert per_channel[0] == {("dapp:step", 0): 100, ("dapp:step", 1): 100,
                              ("dapp:step", 2): 100, "dapp:noisy": 200}
    # x: noisy only, always.
    assert per_channel[1] == {"dapp:noisy": 300}


def test_status_shows_the_write_rate(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "rate", "-o", out)
    daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "64k", "--switch-timer", "100ms")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("start")
    spinner = daemon.app("spin")  # about a million events (12 MB) a second
    time.sleep(2.5)
    channel = json.loads(daemon.reel("--json", "status").stdout)["channels"][0]
    human = daemon.reel("status").stdout
    spinner.kill()
    spinner.wait()
    daemon.reel("destroy")
    assert channel["bytes_per_second"] > 1e6
    assert channel["bytes_written"] > 1e6
    rate = float(human.split("MB/s")[0].split()[-1])
    assert rate > 1


def test_rotation_under_load(daemon, tmp_path):
    """Chunks cut while an application traces at speed: each one a complete
    trace read alone without a warning, every event in exactly one, the hook
    run once per chunk."""
    out = tmp_path / "trace"
    hooked = tmp_path / "hooked"
    daemon.reel("create", "rot", "-o", out)
    daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "256k", "--num-subbuf", "8")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("enable-rotation", "--timer", "300ms", "--hook", f'echo "$1" >> {hooked}')
    daemon.reel("start")
    spinner = daemon.app("spin")
    manual = []
    for _ in range(3):
        time.sleep(0.15)
        p = daemon.reel("--json", "rotate")
        manual.append(json.loads(p.stdout)["chunk"])
    time.sleep(0.4)
    spinner.kill()
    spinner.wait()
    daemon.reel("disable-rotation")
    daemon.reel("stop")
    last = json.loads(daemon.reel("--json", "rotate").stdout)["chunk"]
    rotations = json.loads(daemon.reel("--json", "list-rotations").stdout)
    chunks = [c["path"] for c in rotations["chunks"]]
    assert set(manual) | {last} <= set(chunks)
    assert len(chunks) >= 5  # three manual, one at least from the timer, the last
    assert [c["index"] for c in rotations["chunks"]] == list(range(len(chunks)))
    spun = []
    for c in chunks:
        assert Path(c).parent == out / "archives"
        # babeltrace2's text, whose warnings (discarded events, lost
        # packets) go to stderr: none.
        p = subprocess.run(["babeltrace2", c], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        assert p.returncode == 0 and p.stderr == "", p.stderr[-500:]
        # In order, through Reel's reader (much faster than the bindings).
        view = subprocess.run([str(REEL), "--json", "view", "--names", "dapp:step", c],
                              capture_output=True, text=True, timeout=120)
        assert view.returncode == 0, view.stderr
        spun += [json.loads(line)["fields"]["i"] for line in view.stdout.splitlines()]
    # Together, the chunks hold every event the application committed,
    # once each, in order.
    assert spun == list(range(len(spun)))
    assert len(spun) >= 100000
    # Reel's reader merges a rotated session's chunks back into one.
    stats = json.loads(daemon.reel("--json", "view", "--stats", out).stdout)
    assert stats["events"] == len(spun) and stats["discarded_events"] == 0
    deadline = time.time() + 10
    while time.time() < deadline and len(hooked.read_text().split()) < len(chunks):
        time.sleep(0.05)
    assert sorted(hooked.read_text().split()) == sorted(chunks)
    daemon.reel("destroy")


def test_rotation_hook_failures_do_not_stop_tracing(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "hk", "-o", out)
    # Sizes are counted in whole packets written.
    daemon.reel("enable-channel", "-u", "--subbuf-size", "16k", "--num-subbuf", "64", "channel0")
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("enable-rotation", "--size", "64k", "--hook", "exit 3")
    daemon.reel("start")
    app = daemon.app("steps", 20000)
    for k in range(3):
        step(app, k)
        time.sleep(0.3)
    finish(app)
    daemon.reel("stop")
    daemon.reel("rotate")
    rotations = json.loads(daemon.reel("--json", "list-rotations").stdout)
    assert len(rotations["chunks"]) >= 3
    deadline = time.time() + 10
    while time.time() < deadline:
        rotations = json.loads(daemon.reel("--json", "list-rotations").stdout)
        if all(c["hook_status"] != -1 for c in rotations["chunks"]):
            break
        time.sleep(0.05)
    assert {c["hook_status"] for c in rotations["chunks"]} == {3}
    events = []
    for c in rotations["chunks"]:
        events += read_trace(c["path"])[0]
    for k in range(3):
        assert steps_of(events, k) == list(range(20000))
    daemon.reel("destroy")


def test_rotate_needs_a_started_session(daemon, tmp_path):
    daemon.reel("create", "never", "-o", tmp_path / "t")
    p = daemon.reel("rotate", check=False)
    assert p.returncode == 1 and "never started" in p.stderr
    p = daemon.reel("enable-rotation", check=False)
    assert p.returncode == 2


def test_wait_rotation(daemon, tmp_path):
    """`reel wait-rotation` (libreel-ctl's notification) returns when the
    next chunk is archived, at once for one archived already, and fails
    after its timeout."""
    out = tmp_path / "trace"
    daemon.reel("create", "wr", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 100)
    step(app, 1)
    waiter = subprocess.Popen([str(REEL), "--json", "wait-rotation", "--timeout", "20s"],
                              env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    time.sleep(0.3)
    assert waiter.poll() is None, "it must wait for the rotation"
    chunk = json.loads(daemon.reel("--json", "rotate").stdout)["chunk"]
    got = json.loads(waiter.communicate(timeout=20)[0])
    assert got == {"session": "wr", "index": 0, "chunk": chunk}
    again = json.loads(daemon.reel("--json", "wait-rotation", "--index", "0").stdout)
    assert again["chunk"] == chunk
    t0 = time.time()
    late = daemon.reel("wait-rotation", "--timeout", "300ms", check=False)
    assert late.returncode == 1 and "no rotation happened in time" in late.stderr
    assert time.time() - t0 < 10
    finish(app)
    daemon.reel("destroy")
    assert steps_of(read_trace(chunk)[0], 1) == list(range(100))


def test_rotation_retention(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "ret", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("enable-rotation", "--keep", "2")
    daemon.reel("start")
    app = daemon.app("steps", 100)
    made = []
    for k in range(4):
        step(app, k)
        made.append(json.loads(daemon.reel("--json", "rotate").stdout)["chunk"])
    finish(app)
    rotations = json.loads(daemon.reel("--json", "list-rotations").stdout)
    assert rotations["keep_chunks"] == 2
    assert [c["path"] for c in rotations["chunks"]] == made[2:]
    assert sorted(str(p) for p in (out / "archives").iterdir()) == sorted(made[2:])
    events = []
    for c in made[2:]:
        events += read_trace(c)[0]
    assert steps_of(events, 2) == list(range(100)) and steps_of(events, 3) == list(range(100))
    daemon.reel("destroy")


def test_snapshot_flight_recorder(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "fr", "--snapshot", "-o", out)
    daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "64k", "--num-subbuf", "8")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("start")
    spinner = daemon.app("spin")
    maxima = []
    for _ in range(2):
        while True:
            line = spinner.stdout.readline()
            assert line.startswith("at ")
            if int(line.split()[1]) >= 100000 * (len(maxima) + 1):
                break
        reached = int(line.split()[1])
        snap = json.loads(daemon.reel("--json", "snapshot", "record").stdout)["snapshot"]
        assert Path(snap).parent == out and Path(snap).name.startswith(f"snapshot-{len(maxima) + 1}-")
        p = subprocess.run(["babeltrace2", snap], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        assert p.returncode == 0 and p.stderr == "", p.stderr[-500:]
        view = subprocess.run([str(REEL), "--json", "view", snap], capture_output=True,
                              text=True, timeout=60)
        spun = [json.loads(l)["fields"]["i"] for l in view.stdout.splitlines()]
        # The newest events, in order: everything committed before the
        # record that the buffers (512 KiB per CPU) could still hold.
        assert spun and spun == sorted(set(spun))
        assert spun[-1] >= reached - 1
        assert len(spun) < reached
        maxima.append(spun[-1])
    spinner.kill()
    spinner.wait()
    assert maxima[1] > maxima[0]
    # Nothing but the snapshots is written.
    assert sorted(p.name.split("-")[0] for p in out.iterdir()) == ["snapshot", "snapshot"]
    p = daemon.reel("rotate", check=False)
    assert p.returncode == 1 and "snapshot session" in p.stderr
    daemon.reel("destroy")
    p = daemon.reel("create", "plain", "-o", tmp_path / "p")
    daemon.reel("start", "plain", check=False)
    p = daemon.reel("snapshot", "record", "-s", "plain", check=False)
    assert p.returncode == 1 and "not a snapshot session" in p.stderr


def view_lines(*paths, names="dapp:step"):
    p = subprocess.run([str(REEL), "--json", "view", "--names", names] + [str(x) for x in paths],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def files_under(path):
    return sorted(p for p in Path(path).rglob("*") if p.is_file())


def test_rotation_compressed_under_load(daemon, tmp_path):
    """--compress zstd: every file of every chunk is .zst by the time the
    chunk is announced (rotate's reply, the hook, list-rotations); `zstd -d`
    gives back a trace babeltrace2 reads; `reel view` reads the compressed
    chunks as the decompressed ones; every event once."""
    if not shutil.which("zstd"):
        pytest.skip("the zstd command is missing")
    out = tmp_path / "trace"
    hooked = tmp_path / "hooked"
    daemon.reel("create", "z", "-o", out)
    daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "256k", "--num-subbuf", "8")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    # The hook writes the chunk's path and how many files are not .zst.
    daemon.reel("enable-rotation", "--timer", "300ms", "--compress", "zstd", "--hook",
                 f'echo "$1 $(find "$1" -type f ! -name "*.zst" | wc -l)" >> {hooked}')
    assert json.loads(daemon.reel("--json", "list-rotations").stdout)["compress"] == "zstd"
    daemon.reel("start")
    spinner = daemon.app("spin")
    manual = []
    for _ in range(3):
        time.sleep(0.15)
        t0 = time.time()
        chunk = json.loads(daemon.reel("--json", "rotate").stdout)["chunk"]
        manual.append((chunk, time.time() - t0))
        # Announced once compressed: nothing else is left in it.
        names = [p.name for p in files_under(chunk)]
        assert names and all(n.endswith(".zst") for n in names), names
    time.sleep(0.4)
    spinner.kill()
    spinner.wait()
    daemon.reel("disable-rotation")
    daemon.reel("stop")
    last = json.loads(daemon.reel("--json", "rotate").stdout)["chunk"]
    chunks = [c["path"] for c in json.loads(daemon.reel("--json", "list-rotations").stdout)["chunks"]]
    assert {c for c, _ in manual} | {last} <= set(chunks) and len(chunks) >= 5
    spun, packed, plain = [], 0, 0
    for i, c in enumerate(chunks):
        files = files_under(c)
        assert files and all(f.name.endswith(".zst") for f in files)
        assert any(f.name == "metadata.zst" for f in files)
        packed += sum(f.stat().st_size for f in files)
        copy = tmp_path / f"plain-{i}"
        shutil.copytree(c, copy)
        subprocess.run(["zstd", "-q", "-d", "-r", "--rm", str(copy)], check=True, timeout=120)
        plain += sum(f.stat().st_size for f in files_under(copy))
        p = subprocess.run(["babeltrace2", str(copy)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=120)
        assert p.returncode == 0 and p.stderr == "", p.stderr[-500:]
        compressed = view_lines(c)
        assert compressed == view_lines(copy)
        spun += [json.loads(line)["fields"]["i"] for line in compressed]
    assert spun == list(range(len(spun))) and len(spun) >= 100000
    stats = json.loads(daemon.reel("--json", "view", "--stats", out).stdout)
    assert stats["events"] == len(spun) and stats["discarded_events"] == 0
    deadline = time.time() + 10
    while time.time() < deadline and len(hooked.read_text().splitlines()) < len(chunks):
        time.sleep(0.05)
    lines = [l.split() for l in hooked.read_text().splitlines()]
    assert sorted(p for p, _ in lines) == sorted(chunks)  # once each
    assert {n for _, n in lines} == {"0"}  # after the compression
    print(f"compressed {plain} -> {packed} bytes ({plain / packed:.1f}x); "
          f"rotate: {max(t for _, t in manual) * 1000:.0f} ms at most")
    daemon.reel("destroy")


def test_retention_counts_compressed_sizes(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "zr", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("enable-rotation", "--compress", "zstd", "--keep-size", "300k")
    daemon.reel("start")
    app = daemon.app("steps", 20000)
    made = []
    for k in range(6):
        step(app, k)
        made.append(json.loads(daemon.reel("--json", "rotate").stdout)["chunk"])
    finish(app)
    kept = [c["path"] for c in json.loads(daemon.reel("--json", "list-rotations").stdout)["chunks"]]
    sizes = [sum(f.stat().st_size for f in files_under(c)) for c in kept]
    # A chunk is about 600 KB before compression: only the newest would
    # be kept if uncompressed sizes counted.
    assert kept == made[-len(kept):] and len(kept) >= 2, sizes
    assert sum(sizes) <= 300 * 1024
    assert sorted(str(p) for p in (out / "archives").iterdir()) == sorted(kept)
    events = []
    for c in kept:
        events += read_trace_view(c)
    daemon.reel("destroy")
    for k in range(6 - len(kept), 6):
        assert [i for s, i in events if s == k] == list(range(20000))


def read_trace_view(path):
    return [(json.loads(l)["fields"]["step"], json.loads(l)["fields"]["i"])
            for l in view_lines(path)]


def stream_files(snapshot):
    return [f for f in files_under(snapshot) if f.name != "metadata"]


def test_snapshot_max_size(daemon, tmp_path):
    out = tmp_path / "trace"
    daemon.reel("create", "ms", "--snapshot", "-o", out)
    daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "64k", "--num-subbuf", "8")
    daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 50000)
    for k in range(3):
        step(app, k)
    # Nothing is written while the two are recorded.
    full = json.loads(daemon.reel("--json", "snapshot", "record").stdout)["snapshot"]
    nr_streams = len(stream_files(full))
    limit = nr_streams * 2 * 65536  # two of the eight sub-buffers per stream
    small = json.loads(daemon.reel("--json", "snapshot", "record", "--max-size",
                                   f"{limit // 1024}k").stdout)["snapshot"]
    total = sum(f.stat().st_size for f in stream_files(small))
    assert 0 < total <= limit
    assert sum(f.stat().st_size for f in stream_files(full)) > limit
    p = subprocess.run(["babeltrace2", small], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    assert p.returncode == 0 and p.stderr == "", p.stderr[-500:]
    newest = read_trace_view(small)
    everything = read_trace_view(full)
    # The newest events: the same last ones, a part of the full one's.
    assert newest and newest[-1] == everything[-1] == (2, 49999)
    assert set(newest) < set(everything)
    # Too small for one sub-buffer per stream: a clear error.
    p = daemon.reel("snapshot", "record", "--max-size", "4k", check=False)
    assert p.returncode != 0 and "too small" in p.stderr and "sub-buffer" in p.stderr
    p = daemon.reel("snapshot", "record", "--max-size", "lots", check=False)
    assert p.returncode == 2
    finish(app)
    daemon.reel("destroy")


def test_disk_full_during_rotation(daemon, tmp_path):
    """Rotations while the output's file system fills: the rotation that
    cannot write its chunk fails saying so (status too), the chunks archived
    before are intact, and once there is room again rotations and tracing
    go on."""
    if os.getuid() != 0:
        pytest.skip("needs root to mount a small file system")
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = mnt / "trace"
        daemon.reel("create", "df", "-o", out)
        daemon.reel("enable-channel", "-u", "c", "--subbuf-size", "16k", "--num-subbuf", "16")
        daemon.reel("enable-event", "-u", "-c", "c", "dapp:step")
        daemon.reel("start")
        app = daemon.app("steps", 2000)
        good = []
        for k in range(2):
            step(app, k)
            good.append(json.loads(daemon.reel("--json", "rotate").stdout)["chunk"])
        # Fill the file system.
        subprocess.run(["dd", "if=/dev/zero", f"of={mnt}/filler", "bs=4k"],
                       capture_output=True)
        step(app, 2)
        p = daemon.reel("rotate", check=False)
        assert p.returncode == 1 and "No space left on device" in p.stderr, p.stderr
        assert "incomplete" in p.stderr
        status = daemon.reel("status").stdout
        assert "No space left on device" in status, status
        # Chunks archived before are untouched.
        for k, c in enumerate(good):
            events, discarded = read_trace(c)
            assert steps_of(events, k) == list(range(2000)) and discarded == 0
            babeltrace_ok(c)
        # Room again: the session goes on.
        (mnt / "filler").unlink()
        daemon.reel("rotate")
        step(app, 3)
        after = json.loads(daemon.reel("--json", "rotate").stdout)["chunk"]
        assert steps_of(read_trace(after)[0], 3) == list(range(2000))
        babeltrace_ok(after)
        finish(app)
        daemon.reel("stop")
        daemon.reel("destroy")
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def statedump_of(path):
    """The lttng_ust_statedump events of a trace, as babeltrace2 prints them."""
    p = subprocess.run(["babeltrace2", str(path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [l for l in p.stdout.splitlines() if "lttng_ust_statedump:" in l]


def test_ust_statedump_at_each_chunk(daemon, tmp_path):
    """Applications record lttng_ust_statedump:* (procname, loaded objects)
    when they register with a started session and when each chunk begins,
    as LTTng-UST: a chunk can be read alone."""
    out = tmp_path / "trace"
    daemon.reel("create", "dump", "-o", out)
    daemon.reel("enable-event", "-u", "lttng_ust_statedump:*,dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 10)
    wait_registered(daemon, app)
    step(app, 1)
    daemon.reel("rotate")
    step(app, 2)
    daemon.reel("rotate")
    step(app, 3)
    finish(app)
    daemon.reel("stop")
    chunks = sorted((out / "archives").iterdir())
    assert len(chunks) == 2
    for trace in chunks + [out]:
        dump = statedump_of(trace)
        names = [l.split()[3] for l in dump]
        assert names[0] == "lttng_ust_statedump:start:", (trace, names)
        assert "lttng_ust_statedump:end:" in names, (trace, names)
        assert any('procname = "daemon-app"' in l for l in dump), dump
        assert any("bin_info" in l and f'path = "{APP}"' in l and "is_pic = 1" in l
                   for l in dump), dump
        assert any("build_id" in l and "_build_id_length = 20" in l for l in dump), dump
    daemon.reel("destroy")



def test_archived_marker_not_followed(daemon, tmp_path):
    """<output>/.reel-archived is written through a file of its own: a
    symbolic link in the way at its temporary name is not followed (the
    daemon may run as root, the output directory be another user's): the
    file it points to is left as it was, and the marker names the last
    chunk."""
    out = tmp_path / "trace"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (out / ".reel-archived.tmp").symlink_to(victim)
    daemon.reel("create", "mk", "-o", out)
    daemon.reel("enable-event", "-u", "dapp:step")
    daemon.reel("start")
    app = daemon.app("steps", 100)
    for k in range(2):
        step(app, k)
        chunk = json.loads(daemon.reel("--json", "rotate").stdout)["chunk"]
        if k == 0:
            (out / ".reel-archived.tmp").symlink_to(victim)
    finish(app)
    assert victim.read_text() == "precious\n"
    marker = out / ".reel-archived"
    assert not marker.is_symlink()
    assert marker.read_text() == f"1 {Path(chunk).name}\n"
    daemon.reel("destroy")
