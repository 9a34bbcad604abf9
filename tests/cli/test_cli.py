# SPDX-License-Identifier: MIT
"""Tests of the `reel` command line: argument checking, help, exit codes
and messages of every command, with no daemon (REEL_RUNDIR points at an
empty private directory); and, when the build has `reeld`, every command
against a real daemon, in human and --json output.

Run with Debian's Python: /usr/bin/python3 -m pytest tests/cli.
REEL_BUILD_DIR names the meson build directory (default: build).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("REEL_BUILD_DIR", "build")).resolve()
REEL = BUILD / "src" / "cli" / "reel"
REELD = BUILD / "src" / "sessiond" / "reeld"
APP = BUILD / "tests" / "fields-app"

COMMANDS = ["create", "enable-channel", "enable-event", "disable-event", "start",
            "stop", "destroy", "set-session", "list", "status", "add-context"]
# Commands that reach the daemon without starting one, with valid arguments.
NO_SPAWN = [
    ["enable-channel", "-u", "big"],
    ["enable-event", "-u", "myapp:*"],
    ["enable-event", "-u", "-a"],
    ["disable-event", "-u", "myapp:*"],
    ["start"], ["start", "demo"], ["stop"], ["destroy"], ["destroy", "-a"],
    ["set-session", "demo"], ["list"], ["list", "demo"], ["list", "-u"], ["status"],
]


@pytest.fixture
def env(tmp_path):
    """An environment with no daemon: a private, empty run directory and
    home (so that nothing of the user's is touched). The run directory is
    short: socket paths must fit in sun_path."""
    rundir = tempfile.mkdtemp(prefix="reel-cli-", dir="/tmp")
    home = tmp_path / "home"
    home.mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith("REEL_")}
    e.update({"REEL_RUNDIR": rundir, "HOME": str(home)})
    yield e
    shutil.rmtree(rundir, ignore_errors=True)


def reel(args, env, cwd=None):
    return subprocess.run([str(REEL)] + [str(a) for a in args], env=env, cwd=cwd,
                          capture_output=True, text=True, errors="replace", timeout=60)


def usage_error(args, env, *words):
    """The command fails with exit 2 and one clear message naming it."""
    p = reel(args, env)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stdout == ""
    first = p.stderr.splitlines()[0]
    cmd = args[0] if args and args[0] in COMMANDS + ["analyze", "worker"] else None
    assert first.startswith(f"reel {cmd}: " if cmd else "reel: "), p.stderr
    for w in words:
        assert w in first, (w, p.stderr)
    assert "Try 'reel help" in p.stderr
    return first


# ---- global -----------------------------------------------------------------

def test_no_command(env):
    p = reel([], env)
    assert p.returncode == 2
    assert "Usage: reel" in p.stderr


def test_unknown_command(env):
    usage_error(["frobnicate"], env, "unknown command 'frobnicate'")
    usage_error(["help", "frobnicate"], env, "unknown command 'frobnicate'")


def test_unknown_global_option(env):
    usage_error(["--frob", "list"], env, "unknown option '--frob'")


def test_help_lists_every_command(env):
    for args in (["help"], ["--help"], ["-h"]):
        p = reel(args, env)
        assert p.returncode == 0, p.stderr
        for c in COMMANDS:
            assert f"\n  {c} " in p.stdout, (c, p.stdout)


def test_version(env):
    p = reel(["version"], env)
    assert p.returncode == 0 and p.stdout.startswith("reel ")
    p = reel(["--json", "version"], env)
    assert "version" in json.loads(p.stdout)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_of_every_command(cmd, env):
    outs = []
    for args in (["help", cmd], [cmd, "--help"], [cmd, "-h"]):
        p = reel(args, env)
        assert p.returncode == 0, (args, p.stderr)
        assert p.stderr == ""
        assert p.stdout.startswith(f"Usage: reel {cmd}"), p.stdout
        assert "--help" in p.stdout and "--json" in p.stdout
        outs.append(p.stdout)
    assert outs[0] == outs[1] == outs[2]
    # Help comes first, whatever else is on the line, and needs no daemon.
    p = reel([cmd, "--help", "--no-such-option-after"], env)
    assert p.returncode in (0, 2)


def test_help_explains_options(env):
    text = reel(["help", "enable-channel"], env).stdout
    for opt in ("-u, --userspace", "-s, --session", "--subbuf-size", "--num-subbuf",
                "--overwrite", "--buffers-uid", "--buffers-pid", "--switch-timer"):
        assert opt in text, opt
    text = reel(["help", "enable-event"], env).stdout
    for opt in ("-c, --channel", "-a, --all", "--loglevel", "--loglevel-only", "TRACE_"):
        assert opt in text, opt
    assert "-o, --output" in reel(["help", "create"], env).stdout


# ---- option errors, every command -------------------------------------------

@pytest.mark.parametrize("cmd", COMMANDS)
def test_unknown_option(cmd, env):
    usage_error([cmd, "--no-such-option"], env, "--no-such-option")
    usage_error([cmd, "-Z"], env, "unknown option '-Z'")
    usage_error([cmd, "--json=yes"], env, "'--json' takes no argument")


@pytest.mark.parametrize("args", [
    ["create", "a", "b"],
    ["enable-channel", "-u", "a", "b"],
    ["enable-event", "-u", "a", "b"],
    ["disable-event", "-u", "a", "b"],
    ["start", "a", "b"], ["stop", "a", "b"], ["destroy", "a", "b"],
    ["set-session", "a", "b"], ["list", "a", "b"], ["status", "a"],
])
def test_extra_argument(args, env):
    usage_error(args, env, "unexpected argument")


@pytest.mark.parametrize("args", [
    ["create", "-o"], ["create", "--output"],
    ["enable-channel", "-u", "big", "-s"], ["enable-channel", "-u", "big", "--subbuf-size"],
    ["enable-event", "-u", "x", "-c"], ["enable-event", "-u", "x", "--loglevel"],
    ["disable-event", "-u", "x", "--channel"],
    ["analyze", "syscalls", "--sqlite"], ["analyze", "syscalls", "-j"],
    ["analyze", "io", "x", "--engine"], ["worker", "--engine"],
])
def test_missing_option_argument(args, env):
    usage_error(args, env, "requires an argument")


@pytest.mark.parametrize("cmd", ["enable-channel", "enable-event", "disable-event"])
def test_domain_required(cmd, env):
    usage_error([cmd, "x"], env, "no domain", "-u")


@pytest.mark.parametrize("args", [
    ["enable-channel", "-u", "-k", "big"], ["enable-event", "-u", "-k", "sched_switch"],
    ["disable-event", "--userspace", "--kernel", "x"],
])
def test_one_domain_at_a_time(args, env):
    usage_error(args, env, "-u and -k exclude each other")


@pytest.mark.parametrize("args", [
    ["enable-event", "-u", "--syscall", "openat"], ["disable-event", "-u", "--syscall", "x"],
    ["list", "--syscall"],
])
def test_syscall_needs_kernel(args, env):
    usage_error(args, env, "--syscall goes with -k")


def test_kernel_context_is_tid(env):
    usage_error(["add-context", "-k", "-t", "vpid"], env, "unknown kernel context type 'vpid'")
    usage_error(["add-context", "-k", "-c", "x", "-t", "tid"], env, "no -c")


@pytest.mark.parametrize("size,why", [
    ("3000", "out of range"), ("2048", "out of range"), ("0", "out of range"),
    ("5k", "not a power of two"), ("12288", "not a power of two"),
    ("4G", "out of range"), ("99999999999999999999999", "out of range"),
    ("1T", "not a size"), ("-4096", "not a size"), ("", "not a size"),
    ("1.5M", "not a size"), ("k", "not a size"), (" 4096", "not a size"),
])
def test_bad_subbuf_size(size, why, env):
    usage_error(["enable-channel", "-u", "big", "--subbuf-size", size], env, "--subbuf-size", why)


@pytest.mark.parametrize("n,why", [
    ("1", "out of range"), ("0", "out of range"), ("3", "not a power of two"),
    ("6", "not a power of two"), ("4k", "not a number"), ("two", "not a number"),
    ("4294967296", "out of range"),
])
def test_bad_num_subbuf(n, why, env):
    usage_error(["enable-channel", "-u", "big", "--num-subbuf", n], env, "--num-subbuf", why)


@pytest.mark.parametrize("t,why", [
    ("1x", "not a duration"), ("ms", "not a duration"), ("-1", "not a duration"),
    ("1.5s", "not a duration"), ("2h", "too long"), ("4295s", "too long"),
])
def test_bad_switch_timer(t, why, env):
    usage_error(["enable-channel", "-u", "big", "--switch-timer", t], env, "--switch-timer", why)


@pytest.mark.parametrize("args,words", [
    (["enable-rotation", "--compress", "gzip"], ("--compress", "gzip", "zstd")),
    (["enable-rotation", "--compress", ""], ("--compress", "zstd")),
    (["snapshot", "record", "--max-size", "lots"], ("--max-size", "not a size")),
    (["snapshot", "record", "--max-size", "0"], ("--max-size", "not a size")),
])
def test_bad_rotation_and_snapshot_options(args, words, env):
    p = reel(args, env)
    assert p.returncode == 2 and p.stdout == "", (args, p.stderr)
    first = p.stderr.splitlines()[0]
    assert first.startswith(f"reel {args[0]}: "), p.stderr
    for w in words:
        assert w in first, (w, first)


@pytest.mark.parametrize("args", [
    ["--overwrite", "--discard"], ["--buffers-uid", "--buffers-pid"],
])
def test_exclusive_channel_options(args, env):
    usage_error(["enable-channel", "-u", "big"] + args, env, "exclude each other")


@pytest.mark.parametrize("level", ["FOO", "15", "-1", "TRACE_", "TRACE_VERBOSE", "INFO2", ""])
def test_bad_loglevel(level, env):
    usage_error(["enable-event", "-u", "x", "--loglevel", level], env, "unknown log level")
    usage_error(["enable-event", "-u", "x", "--loglevel-only", level], env, "unknown log level")


def test_loglevel_options_exclude_each_other(env):
    usage_error(["enable-event", "-u", "x", "--loglevel", "INFO", "--loglevel-only", "INFO"],
                env, "exclude each other")


@pytest.mark.parametrize("cmd", ["enable-event", "disable-event"])
def test_event_patterns(cmd, env):
    usage_error([cmd, "-u"], env, "no event pattern")
    usage_error([cmd, "-u", "-a", "x"], env, "-a")
    usage_error([cmd, "-u", "a,,b"], env, "empty event pattern")
    usage_error([cmd, "-u", "a,"], env, "empty event pattern")
    usage_error([cmd, "-u", "-c", "", "x"], env, "channel name is empty")


def test_empty_names(env):
    usage_error(["create", ""], env, "session name is empty")
    usage_error(["create", "-o", ""], env, "output directory is empty")
    usage_error(["enable-channel", "-u", ""], env, "channel name is empty")
    usage_error(["enable-channel", "-u"], env, "no channel name")
    usage_error(["set-session"], env, "no session name")
    usage_error(["destroy", "-a", "x"], env, "-a")
    for cmd in ("enable-channel", "enable-event", "disable-event"):
        usage_error([cmd, "-u", "-s", "", "x"], env, "session name is empty")


# ---- no daemon --------------------------------------------------------------

@pytest.mark.parametrize("args", NO_SPAWN, ids=" ".join)
def test_no_daemon(args, env):
    """Valid arguments, no daemon: exit 1 and one line that says what to do;
    no daemon was started in the run directory."""
    p = reel(args, env)
    assert p.returncode == 1, p
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith(f"reel {args[0]}: no session daemon is running in {env['REEL_RUNDIR']}")
    assert "reeld --daemonize" in lines[0]
    # --json changes nothing: errors stay on stderr.
    p = reel(["--json"] + args, env)
    assert p.returncode == 1 and p.stdout == "" and "no session daemon" in p.stderr
    assert not any(Path(env["REEL_RUNDIR"]).iterdir())


def test_create_cannot_start_a_daemon(env, tmp_path):
    """create starts a daemon when none runs; when it cannot, it says so."""
    e = dict(env, REEL_SESSIOND_PATH=str(tmp_path / "no-such-reeld"))
    p = reel(["create", "demo"], e)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == (f"reel create: no session daemon is running in {env['REEL_RUNDIR']} "
                        "and none could be started (reeld is looked for in $PATH, or at "
                        "$REEL_SESSIOND_PATH)\n")
    e = dict(env, REEL_SESSIOND_PATH="/bin/false")
    p = reel(["create", "demo"], e)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith(f"reel create: no session daemon is running in "
                               f"{env['REEL_RUNDIR']} and the one started failed")


def test_valid_values_reach_the_daemon(env):
    """Accepted spellings of sizes, durations and log levels get past the
    parser (to the missing daemon: exit 1, not 2)."""
    for args in (
        ["--subbuf-size", "4096", "--num-subbuf", "2"],
        ["--subbuf-size", "4k", "--num-subbuf", "8"],
        ["--subbuf-size", "512K", "--num-subbuf", "1024"],
        ["--subbuf-size", "1M"], ["--subbuf-size", "2MiB"], ["--subbuf-size", "1G"],
        ["--subbuf-size", "2g"], ["--subbuf-size=64k"],
        ["--switch-timer", "0"], ["--switch-timer", "1000000"], ["--switch-timer", "500us"],
        ["--switch-timer", "100ms"], ["--switch-timer", "1s"], ["--switch-timer", "1m"],
        ["--overwrite", "--buffers-pid"], ["--discard", "--buffers-uid"],
        ["-s", "demo"], ["--session=demo"],
    ):
        p = reel(["enable-channel", "-u", "big"] + args, env)
        assert p.returncode == 1 and "no session daemon" in p.stderr, (args, p.stderr)
    for level in ("0", "14", "INFO", "info", "TRACE_INFO", "trace_debug_line", "DEBUG",
                  "EMERG", "DEBUG_SYSTEM", "WARNING"):
        for opt in ("--loglevel", "--loglevel-only"):
            p = reel(["enable-event", "-u", "a:*,b:c", opt, level], env)
            assert p.returncode == 1 and "no session daemon" in p.stderr, (level, p.stderr)
    # Options after the arguments and the command's own --json, as getopt allows.
    p = reel(["enable-event", "x", "-u", "--json", "-c", "ch"], env)
    assert p.returncode == 1 and "no session daemon" in p.stderr


# ---- a real daemon ----------------------------------------------------------

@pytest.fixture
def daemon(env, tmp_path):
    """A real reeld on a private run directory, stopped by pid."""
    if not REELD.exists():
        pytest.skip("reeld is not built")
    log = open(tmp_path / "reeld.log", "w")
    proc = subprocess.Popen([str(REELD)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            p = reel(["list"], env)
            if p.returncode == 0:
                break
            assert proc.poll() is None, (tmp_path / "reeld.log").read_text()
            assert time.monotonic() < deadline, p.stderr
            time.sleep(0.05)
        yield env
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def stop_daemon(rundir):
    """Stop the daemon whose pid file is in rundir (one `create` started)."""
    pidfile = Path(rundir) / "reeld.pid"
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def ok(args, env, cwd=None):
    p = reel(args, env, cwd)
    assert p.returncode == 0, (args, p.stdout, p.stderr)
    assert p.stderr == "", p.stderr
    return p.stdout


def js(args, env, cwd=None):
    return json.loads(ok(["--json"] + args, env, cwd))


def test_daemon_session_lifecycle(daemon, tmp_path):
    env = daemon
    out = tmp_path / "trace"
    text = ok(["create", "demo", "-o", out], env)
    assert text == f"Session demo created.\nTraces will be output to {out}\n"
    text = ok(["enable-channel", "-u", "big", "--subbuf-size", "64k", "--num-subbuf", "8",
               "--overwrite", "--buffers-uid", "--switch-timer", "100ms"], env)
    assert text == "UST channel big enabled for session demo\n"
    text = ok(["enable-event", "-u", "-c", "big", "myapp:*,other:ev", "--loglevel", "INFO"], env)
    assert text.splitlines() == [
        "UST event myapp:* created in channel big for loglevel TRACE_INFO (6) and more severe",
        "UST event other:ev created in channel big for loglevel TRACE_INFO (6) and more severe",
    ]
    assert ok(["enable-event", "-u", "-a"], env) == "All UST events are enabled in channel channel0\n"

    s = js(["list", "demo"], env)
    assert s["name"] == "demo" and s["output"] == str(out)
    assert s["active"] is False and s["current"] is True
    chans = {c["name"]: c for c in s["channels"]}
    assert set(chans) == {"big", "channel0"}
    big = chans["big"]
    assert (big["subbuf_size"], big["num_subbuf"], big["overwrite"], big["buffers"],
            big["switch_timer_us"]) == (65536, 8, True, "uid", 100000)
    assert len(big["rules"]) == 2
    assert any(r.startswith("myapp:*") for r in big["rules"])
    assert len(chans["channel0"]["rules"]) == 1

    text = ok(["list", "demo"], env)
    assert "Recording session demo: [inactive]" in text
    assert f"Trace output: {out}" in text
    assert "- big:" in text and "- channel0:" in text
    assert "Sub-buffer size:  65536 bytes (64 KiB)" in text

    text = ok(["disable-event", "-u", "-c", "big", "other:ev"], env)
    assert text == "UST event other:ev disabled in channel big\n"
    big = {c["name"]: c for c in js(["list", "demo"], env)["channels"]}["big"]
    assert len(big["rules"]) == 1 and big["rules"][0].startswith("myapp:*")

    assert ok(["start"], env) == "Tracing started for session demo\n"
    st = js(["status"], env)
    assert st["name"] == "demo" and st["active"] is True
    for c in st["channels"]:
        for k in ("packets_written", "bytes_written", "events_discarded", "bytes_per_second"):
            assert k in c
    text = ok(["status"], env)
    assert "Recording session demo: [active]" in text and "Channel" in text and "MB/s" in text

    assert js(["stop"], env) == {"session": "demo", "active": False}
    assert ok(["destroy"], env) == "Session demo destroyed\n"
    assert js(["list"], env)["sessions"] == []
    assert ok(["list"], env) == "Currently no available recording session\n"


def test_daemon_json_and_current_session(daemon, tmp_path):
    env = daemon
    a = js(["create", "a", "-o", tmp_path / "a"], env)
    assert a == {"session": "a", "output": str(tmp_path / "a")}
    # A relative output directory is the command's, not the daemon's.
    b = js(["create", "b", "--output", "rel"], env, cwd=tmp_path)
    assert b == {"session": "b", "output": str(tmp_path / "rel")}
    auto = js(["create"], env)
    assert auto["session"].startswith("auto-")
    assert auto["output"].startswith(env["HOME"])
    assert auto["session"] in auto["output"]

    ls = js(["list"], env)
    assert sorted(s["name"] for s in ls["sessions"]) == sorted(["a", "b", auto["session"]])
    assert ls["current"] == auto["session"]

    assert js(["set-session", "a"], env) == {"session": "a"}
    ch = js(["enable-channel", "-u", "c1"], env)
    assert ch["session"] == "a" and ch["channel"]["name"] == "c1"
    assert ch["channel"]["subbuf_size"] > 0 and ch["channel"]["num_subbuf"] >= 2
    # The daemon's refusal, in its words, after the command's.
    p = reel(["enable-channel", "-u", "c2", "--buffers-pid"], env)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith("reel enable-channel: cannot enable channel 'c2' in session 'a': ")
    assert len(p.stderr.splitlines()) == 1
    ev = js(["enable-event", "-u", "-c", "c1", "x:y", "--loglevel-only", "3"], env)
    assert ev == {"session": "a", "channel": "c1", "rules": [
        {"pattern": "x:y", "loglevel_match": "single", "loglevel": 3, "loglevel_name": "TRACE_ERR"}]}
    dis = js(["disable-event", "-u", "-c", "c1", "-a"], env)
    assert dis == {"session": "a", "channel": "c1", "all": True, "patterns": ["*"]}
    ok(["enable-event", "-u", "-s", "b", "-a"], env)
    assert js(["start", "b"], env) == {"session": "b", "active": True}
    assert js(["list", "b"], env)["active"] is True
    assert js(["list"], env)["current"] == "a"

    apps = js(["list", "-u"], env)
    assert isinstance(apps["apps"], list)
    assert ok(["list", "-u"], env).startswith("UST events:\n")

    # The daemon's refusals: exit 1, its words on stderr.
    p = reel(["create", "a"], env)
    assert p.returncode == 1 and p.stderr.startswith("reel create: cannot create session 'a': ")
    p = reel(["create", "a/b"], env)
    assert p.returncode == 1 and p.stderr.startswith("reel create: cannot create session 'a/b': ")
    p = reel(["start", "nope"], env)
    assert p.returncode == 1 and p.stderr.startswith("reel start: cannot start session 'nope': ")
    p = reel(["list", "nope"], env)
    assert p.returncode == 1 and "no session named 'nope'" in p.stderr
    p = reel(["set-session", "nope"], env)
    assert p.returncode == 1 and p.stderr.startswith("reel set-session: ")

    d = js(["destroy", "-a"], env)
    assert sorted(d["destroyed"]) == sorted(["a", "b", auto["session"]])
    assert js(["list"], env) == {"sessions": [], "current": None}
    p = reel(["status"], env)
    assert p.returncode == 1 and "no current session" in p.stderr


def test_create_starts_a_daemon(env, tmp_path):
    if not REELD.exists():
        pytest.skip("reeld is not built")
    e = dict(env, REEL_SESSIOND_PATH=str(REELD))
    try:
        out = js(["create", "demo", "-o", tmp_path / "t"], e)
        assert out == {"session": "demo", "output": str(tmp_path / "t")}
        assert (Path(env["REEL_RUNDIR"]) / "reeld.pid").exists()
        # The next commands find it, without starting another.
        assert js(["list"], env)["current"] == "demo"
        assert ok(["destroy"], env) == "Session demo destroyed\n"
    finally:
        stop_daemon(env["REEL_RUNDIR"])


def test_daemon_list_apps(daemon, tmp_path):
    """`reel list -u` and `reel status` show a live application."""
    env = daemon
    if not APP.exists():
        pytest.skip("fields-app is not built")
    ok(["create", "demo", "-o", tmp_path / "t"], env)
    ok(["enable-event", "-u", "fields:*"], env)
    ok(["start"], env)
    app = subprocess.Popen([str(APP), "quiet"], env=env, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 10
        while True:
            apps = js(["list", "-u"], env)["apps"]
            mine = [a for a in apps if a["pid"] == app.pid]
            if mine:
                break
            assert time.monotonic() < deadline, apps
            time.sleep(0.05)
        a = mine[0]
        assert a["procname"] == "fields-app" and a["uid"] == os.getuid()
        events = {ev["name"]: ev for ev in a["events"]}
        assert events["fields:seq"]["loglevel"] == 6
        assert events["fields:seq"]["loglevel_name"] == "TRACE_INFO"
        text = ok(["list", "-u"], env)
        assert f"PID: {app.pid} - Name: fields-app\n" in text
        assert "      fields:seq (loglevel: TRACE_INFO (6)) (type: tracepoint)\n" in text
        assert js(["status"], env)["apps"] >= 1
    finally:
        app.stdin.close()
        app.wait(timeout=30)
    ok(["destroy"], env)
