# SPDX-License-Identifier: MIT
"""End-to-end tests of standalone tracing: the real library in real
applications, the real trace files, read back by Debian's babeltrace2 (its
CLI and its Python bindings) and compared with what was emitted.

Run with Debian's Python: /usr/bin/python3 -m pytest tests/system.
REEL_BUILD_DIR names the meson build directory (default: build).
"""
import json
import math
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

BUILD = Path(os.environ.get("REEL_BUILD_DIR", "build")).resolve()
APP = BUILD / "tests" / "fields-app"
CXX_APP = BUILD / "tests" / "cxx-app"
PLUGIN = BUILD / "tests" / "libreel-test-plugin.so"

sys.path.insert(0, "/usr/lib/python3/dist-packages")
bt2 = pytest.importorskip("bt2")


def f32(x):
    """The value of x as a float32, as the trace holds it."""
    return struct.unpack("f", struct.pack("f", x))[0]


def run(args, tmp_path, env=None, check=True, app=APP, **kw):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REEL_")}
    full_env.update(env or {})
    proc = subprocess.run([str(app)] + [str(a) for a in args], env=full_env,
                          cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, **kw)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def traced(args, tmp_path, env=None, app=APP):
    out = tmp_path / "trace"
    e = {"REEL_OUTPUT": str(out)}
    e.update(env or {})
    proc = run(args, tmp_path, e, app=app)
    return out, proc


def trace_dirs(root):
    return sorted(p.parent for p in Path(root).rglob("metadata"))


class Trace:
    """Everything babeltrace2's Python bindings report for a trace."""

    def __init__(self, root):
        self.events = []
        self.discarded_events = []
        self.discarded_packets = []
        self.env = {}
        self.log_levels = {}
        for msg in bt2.TraceCollectionMessageIterator(str(root)):
            if type(msg) is bt2._EventMessageConst:
                ev = msg.event
                self.events.append({
                    "name": ev.name,
                    "fields": to_python(ev.payload_field),
                    "cpu_id": int(ev.packet.context_field["cpu_id"]),
                    "ns": msg.default_clock_snapshot.ns_from_origin,
                })
                self.log_levels[ev.name] = ev.cls.log_level
            elif type(msg) is bt2._DiscardedEventsMessageConst:
                self.discarded_events.append(msg.count)
            elif type(msg) is bt2._DiscardedPacketsMessageConst:
                self.discarded_packets.append(msg.count)
            elif type(msg) is bt2._StreamBeginningMessageConst:
                trace = msg.stream.trace
                self.env = {k: to_python(v) for k, v in trace.environment.items()}

    def named(self, name):
        return [e["fields"] for e in self.events if e["name"] == name]


def to_python(field):
    """A babeltrace2 field or value as plain Python data."""
    if isinstance(field, bt2._EnumerationFieldConst):
        return (int(field), list(field.labels))
    if isinstance(field, (bt2._StringFieldConst, bt2._StringValueConst)):
        return str(field)
    if isinstance(field, (bt2._RealFieldConst, bt2._RealValueConst)):
        return float(field)
    if isinstance(field, (bt2._IntegerFieldConst, bt2._IntegerValueConst)):
        return int(field)
    if isinstance(field, (bt2._StructureFieldConst, bt2._MapValueConst)):
        return {k: to_python(v) for k, v in field.items()}
    if isinstance(field, (bt2._ArrayFieldConst, bt2._ArrayValueConst)):
        return [to_python(v) for v in field]
    raise TypeError(f"unexpected field {type(field)}")


def packets(stream_file):
    """The packet headers and contexts of a Reel stream file."""
    data = Path(stream_file).read_bytes()
    names = ("timestamp_begin", "packet_seq_num", "cpu_id", "timestamp_end",
             "content_size", "packet_size", "events_discarded")
    offset = 0
    while offset < len(data):
        values = struct.unpack_from("<QQIQQQQ", data, offset + 32)
        packet = dict(zip(names, values))
        yield packet
        offset += packet["packet_size"] // 8


def babeltrace_text(root):
    proc = subprocess.run(["babeltrace2", str(root)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines(), proc.stderr


# --- every field kind, exact values --------------------------------------

def test_every_field_exact(tmp_path):
    before = time.time_ns()
    root, proc = traced(["fields"], tmp_path)
    after = time.time_ns()
    t = Trace(root)

    ints = t.named("fields:integers")
    assert ints == [
        dict(s8=-128, s16=-32768, s32=-2**31, s64=-2**63, u8=255, u16=65535,
             u32=2**32 - 1, u64=2**64 - 1, u32_hex=2**32 - 1),
        dict(s8=127, s16=32767, s32=2**31 - 1, s64=2**63 - 1, u8=0, u16=1, u32=2,
             u64=3, u32_hex=2),
        dict(s8=-1, s16=-2, s32=-3, s64=-4, u8=5, u16=6, u32=0xdeadbeef,
             u64=1234567890123456789, u32_hex=0xdeadbeef),
    ]
    floats = t.named("fields:floats")
    assert floats == [dict(f=1.5, d=-2.25), dict(f=0.0, d=1e300),
                      dict(f=f32(-0.125), d=3.141592653589793)]
    assert t.named("fields:strings") == [
        dict(a="", b="hello, world", c='café "quoted" back\\slash'),
        dict(a="(null)", b="x", c="line1\nline2\ttab"),
    ]
    assert t.named("fields:arrays") == [
        dict(a=[-1, 0, 2**31 - 1], _seq_length=5, seq=[1, 2, 3, 254, 255],
             _seq64_length=2, seq64=[-2**63, 2**63 - 1]),
        dict(a=[-1, 0, 2**31 - 1], _seq_length=0, seq=[], _seq64_length=0, seq64=[]),
    ]
    assert t.named("fields:enums") == [
        dict(small=(0, ["RED"]), wide=(1, ["GREEN"])),
        dict(small=(7, ['BLUE"ISH']), wide=(-5, ["NEGATIVE"])),
        dict(small=(42, []), wide=(9, ['BLUE"ISH'])),
    ]
    assert t.named("fields:empty") == [{}]

    # Wall-clock timestamps: within the run, in order.
    stamps = [e["ns"] for e in t.events]
    assert stamps == sorted(stamps)
    assert before - 5_000_000 <= stamps[0] and stamps[-1] <= after + 5_000_000

    # CPU ids: the app pinned itself to each CPU in turn.
    pinned = [int(line.split()[1]) for line in proc.stdout.splitlines()
              if line.startswith("cpu ")]
    cpu_events = [e for e in t.events if e["name"] == "fields:cpu"]
    assert len(pinned) >= 1 and len(cpu_events) == len(pinned)
    for e, cpu in zip(cpu_events, pinned):
        assert e["fields"]["pinned"] == cpu and e["cpu_id"] == cpu

    assert t.log_levels["fields:integers"] == bt2.EventClassLogLevel.WARNING
    assert t.log_levels["fields:arrays"] == bt2.EventClassLogLevel.DEBUG
    assert t.env["domain"] == "ust" and t.env["tracer_name"] == "reel"
    assert t.env["procname"] == "fields-app"
    assert t.discarded_events == [] and t.discarded_packets == []


def test_babeltrace_text(tmp_path):
    """The babeltrace2 CLI shows the same values, labels and formats."""
    root, _ = traced(["fields"], tmp_path)
    lines, err = babeltrace_text(root)
    assert "WARNING" not in err
    payloads = [re.sub(r"^\[[0-9:.]+\] \([+?.0-9]+\) \S+ (\S+) \{ cpu_id = \d+ \}, ", r"\1 ", l)
                for l in lines]
    expected = (Path(__file__).parent / "fields-expected.txt").read_text().splitlines()
    assert payloads[:len(expected)] == expected
    for line in lines:
        assert re.match(r"^\[\d\d:\d\d:\d\d\.\d{9}\] \((\+\d+\.\d{9}|\+\?\.\?{9})\) ", line)


def test_cxx_provider(tmp_path):
    """A provider compiled as C++ records the same way."""
    root, _ = traced([], tmp_path, app=CXX_APP)
    t = Trace(root)
    assert t.named("cxxapp:hello") == [dict(n=i, name="from C++", ratio=i / 4)
                                       for i in range(3)]


# --- loss accounting -------------------------------------------------------

def test_discard_counts_exact(tmp_path):
    n = 500_000
    root, _ = traced(["burst", n], tmp_path,
                     {"REEL_SUBBUF_SIZE": "4k", "REEL_NUM_SUBBUF": "2"})
    t = Trace(root)
    recorded = len(t.named("fields:seq"))
    discarded = sum(t.discarded_events)
    assert discarded > 0
    assert recorded + discarded == n
    # What was kept is in order, from the start.
    seqs = [f["n"] for f in t.named("fields:seq")]
    assert seqs == sorted(seqs) and seqs[0] == 0
    # The babeltrace2 CLI warns with the exact count.
    _, err = babeltrace_text(root)
    counts = [int(c) for c in re.findall(r"Tracer discarded (\d+) events?\b", err)]
    assert sum(counts) == discarded


def test_overwrite_keeps_newest(tmp_path):
    n = 300_000
    root, _ = traced(["burst", n], tmp_path, {"REEL_SUBBUF_SIZE": "4k",
                                              "REEL_NUM_SUBBUF": "4",
                                              "REEL_OVERWRITE": "1"})
    t = Trace(root)
    seqs = [f["n"] for f in t.named("fields:seq")]
    assert seqs[-1] == n - 1          # the newest events are kept
    assert seqs == sorted(seqs)
    assert len(seqs) < n
    # Overwritten packets show as lost, exactly: packets are numbered from
    # 1, so every number up to the last one that is not on disk was lost.
    lost = 0
    for stream in Path(root).rglob("channel0_*"):
        numbers = [p["packet_seq_num"] for p in packets(stream) if p["content_size"] > 84 * 8]
        if numbers:
            lost += numbers[-1] - len(numbers)
    assert lost > 0 and sum(t.discarded_packets) == lost


def test_threads_migrating_exact(tmp_path):
    """Threads that keep moving between CPUs, more threads than CPUs, small
    buffers: every event recorded is intact and in its thread's order
    within its stream, and recorded + discarded is exactly what was
    emitted."""
    threads, n = 8, 40000
    root, _ = traced(["threads", threads, n], tmp_path,
                     {"REEL_SUBBUF_SIZE": "16k", "REEL_NUM_SUBBUF": "4"})
    t = Trace(root)
    events = [e for e in t.events if e["name"] == "fields:thread_seq"]
    last = {}
    for e in events:
        key = (e["fields"]["thread"], e["cpu_id"])
        assert e["fields"]["n"] > last.get(key, -1)
        last[key] = e["fields"]["n"]
    assert {e["fields"]["thread"] for e in events} <= set(range(threads))
    assert len(events) + sum(t.discarded_events) == threads * n
    assert t.discarded_packets == []


def test_event_larger_than_subbuffer(tmp_path):
    root, _ = traced(["big", 600_000], tmp_path)
    t = Trace(root)
    assert t.named("fields:big") == []
    assert t.named("fields:seq") == [dict(n=1)]
    assert sum(t.discarded_events) == 1


def test_nested_reservations_all_recorded(tmp_path):
    """Reservations nested as signal handlers nest them (each inside the
    previous, committed innermost first) are all recorded, in order."""
    root, _ = traced(["nest", 12], tmp_path)
    t = Trace(root)
    assert [f["n"] for f in t.named("fields:seq")] == list(range(100, 112))
    assert t.discarded_events == []


# --- lifecycle ---------------------------------------------------------------

def test_disabled_without_output(tmp_path):
    proc = run(["burst", 1000], tmp_path)
    assert proc.stdout == "emitted 1000\n" and proc.stderr == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output", ["/proc/reel-cannot-write", "/etc/hostname/sub"])
def test_unwritable_output_app_goes_on(tmp_path, output):
    proc = run(["burst", 100000], tmp_path, {"REEL_OUTPUT": output, "REEL_DEBUG": "1"})
    assert proc.stdout == "emitted 100000\n"
    assert "reel: cannot start tracing into" in proc.stderr


def test_disk_full_app_goes_on(tmp_path):
    """The output filesystem fills up: packets are lost, the files hold
    whole packets only, and the application goes on."""
    small = tmp_path / "small"
    small.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mount.stderr.strip()}")
    try:
        proc = run(["burst", 1_000_000], tmp_path, {"REEL_OUTPUT": str(small),
                                                    "REEL_SUBBUF_SIZE": "16k",
                                                    "REEL_DEBUG": "1"})
        assert proc.stdout == "emitted 1000000\n"
        assert "No space left on device" in proc.stderr
        t = Trace(small)
        seqs = [f["n"] for f in t.named("fields:seq")]
        assert 0 < len(seqs) < 1_000_000 and seqs == sorted(seqs)
        del t
        # Whole packets only: the CLI decodes every file to its end.
        lines, _ = babeltrace_text(small)
        assert len(lines) == len(seqs)
    finally:
        if subprocess.run(["umount", str(small)]).returncode != 0:
            subprocess.run(["umount", "-l", str(small)], check=True)


def test_silent_unless_debug(tmp_path):
    proc = run(["burst", 10], tmp_path, {"REEL_OUTPUT": "/proc/reel-cannot-write"})
    assert proc.stderr == ""


@pytest.mark.parametrize("var,value", [("REEL_SUBBUF_SIZE", "3000"),
                                       ("REEL_NUM_SUBBUF", "3"),
                                       ("REEL_SUBBUF_SIZE", "lots")])
def test_bad_settings_app_goes_on(tmp_path, var, value):
    proc = run(["burst", 1000], tmp_path, {"REEL_OUTPUT": str(tmp_path / "t"),
                                           var: value, "REEL_DEBUG": "1"})
    assert proc.stdout == "emitted 1000\n"
    assert "reel:" in proc.stderr


def test_events_filter(tmp_path):
    root, _ = traced(["fields"], tmp_path, {"REEL_EVENTS": "fields:int*,fields:cpu"})
    names = {e["name"] for e in Trace(root).events}
    assert names == {"fields:integers", "fields:cpu"}


def test_api_start_stop(tmp_path):
    proc = run(["api", tmp_path / "api", 1000], tmp_path)
    path = Path(proc.stdout.strip())
    assert path.is_dir() and path.parent.parent.parent == tmp_path / "api"
    t = Trace(path)
    assert [f["n"] for f in t.named("fields:seq")] == list(range(1000))


def test_fork_child_untraced(tmp_path):
    """A child runs untraced unless it starts tracing itself, into buffers
    of its own: the parent's trace holds only the parent's events."""
    root, _ = traced(["fork"], tmp_path)
    t = Trace(root)
    assert [f["n"] for f in t.named("fields:seq")] == [1, 2]
    assert t.discarded_events == []
    child = Trace(tmp_path / "child-trace")
    assert [f["n"] for f in child.named("fields:seq")] == [2000000 + i for i in range(1000)]


def test_switch_timer_flushes_quiet_stream(tmp_path):
    """A packet reaches the disk while the app runs, with nothing else."""
    out = tmp_path / "trace"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEL_")}
    env.update(REEL_OUTPUT=str(out), REEL_SWITCH_TIMER_US="50000")
    proc = subprocess.Popen([str(APP), "quiet"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        deadline = time.time() + 10
        seen = []
        while time.time() < deadline and not seen:
            time.sleep(0.05)
            if trace_dirs(out):
                seen = Trace(out).named("fields:seq")
        assert seen == [dict(n=7)]
        assert proc.poll() is None  # still running
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0


def test_two_processes_one_timeline(tmp_path):
    out = tmp_path / "trace"
    run(["burst", 10], tmp_path, {"REEL_OUTPUT": str(out)})
    run(["burst", 10], tmp_path, {"REEL_OUTPUT": str(out)})
    assert len(trace_dirs(out)) == 2
    t = Trace(out)
    assert len(t.named("fields:seq")) == 20
    stamps = [e["ns"] for e in t.events]
    assert stamps == sorted(stamps)


def test_monotonic_clock_source(tmp_path):
    before = time.time_ns()
    root, _ = traced(["fields"], tmp_path, {"REEL_CLOCK": "monotonic"})
    after = time.time_ns()
    t = Trace(root)
    assert t.env["clock_source"] == "monotonic"
    assert before - 5_000_000 <= t.events[0]["ns"] <= after + 5_000_000


# --- definitions the tracer must refuse or survive -------------------------

def test_inconsistent_and_malformed_events_not_recorded(tmp_path):
    root, proc = traced(["extra"], tmp_path, {"REEL_DEBUG": "1"})
    t = Trace(root)
    assert [e["name"] for e in t.events] == ["fields:seq"]
    assert "extra:conflict is defined differently in two places" in proc.stderr
    for name in ("bad_enum", "bad_container", "bad_names"):
        assert f"ignoring malformed event description extra:{name}" in proc.stderr
    assert t.discarded_events == []


def test_provider_library_unloaded(tmp_path):
    """Events of a library unloaded before the trace ends stay readable."""
    root, _ = traced(["plugin", PLUGIN], tmp_path)
    t = Trace(root)
    assert t.named("plugin:hello") == [dict(n=i, **{"from": "plugin"}) for i in range(3)]
    assert t.named("fields:seq") == [dict(n=5)]


def test_relative_output_survives_chdir(tmp_path):
    proc = run(["chdir"], tmp_path, {"REEL_OUTPUT": "rel"})
    t = Trace(tmp_path / "rel")
    assert t.named("fields:seq") == [dict(n=3)]


def test_string_rewritten_while_traced(tmp_path):
    """Another thread rewrites a string as it is recorded: every record
    keeps its length and terminator, and the trace decodes to the end."""
    n = 20000
    root, _ = traced(["strings", n], tmp_path, {"REEL_SUBBUF_SIZE": "1M",
                                                "REEL_NUM_SUBBUF": "16"})
    lines, err = babeltrace_text(root)
    t = Trace(root)
    texts = [f["text"] for f in t.named("fields:big")]
    assert len(texts) + sum(t.discarded_events) == n
    assert len(lines) == len(texts)
    for text in texts:
        assert set(text) <= {"s", "h", "o", "r", "t", "y", "#"}


def test_start_stop_cycles_bounded(tmp_path):
    """Tracing started and stopped over and over while threads trace: every
    trace is complete and readable, and no descriptor or buffer piles up."""
    proc = run(["cycles", tmp_path / "cycles", 30], tmp_path)
    first, last = [line.split() for line in proc.stdout.splitlines()]
    assert first[3] == last[3], proc.stdout      # descriptors
    assert first[5] == last[5], proc.stdout      # shared memory
    dirs = trace_dirs(tmp_path / "cycles")
    assert len(dirs) == 30
    for d in dirs:
        babeltrace_text(d)


# --- installation ------------------------------------------------------------

def test_install_and_tutorial(tmp_path):
    """`meson install` gives the headers, the library and a pkg-config file
    with which the README's tutorial application builds and traces."""
    dest = tmp_path / "dest"
    subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(dest),
                    "--no-rebuild", "--quiet"], check=True, capture_output=True)
    options = {o["name"]: o["value"] for o in json.loads(subprocess.run(
        ["meson", "introspect", "--buildoptions", str(BUILD)], check=True,
        capture_output=True, text=True).stdout)}
    root = dest / options["prefix"].lstrip("/")
    libdir = root / options["libdir"]
    for header in ("tracepoint.h", "abi.h", "reel.h"):
        assert (root / "include" / "reel" / header).is_file()
    assert (libdir / "libreel-ust.so.1").exists()
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir / "pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(dest))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "reel-ust"], env=env,
                           check=True, capture_output=True, text=True).stdout.split()
    sanitize = options.get("b_sanitize", "none")
    if sanitize != "none":  # the library was built with sanitizers
        flags.append(f"-fsanitize={sanitize}")
    tutorial = Path(__file__).parent / "tutorial"
    subprocess.run(["cc", "-o", str(tmp_path / "myapp"), str(tutorial / "myapp.c")] + flags,
                   check=True)
    subprocess.run([str(tmp_path / "myapp")], check=True, cwd=tmp_path,
                   env=dict(os.environ, REEL_OUTPUT="mytrace", LD_LIBRARY_PATH=str(libdir)))
    t = Trace(tmp_path / "mytrace")
    assert t.named("myapp:request") == [
        dict(id=i, path="/index.html", status=(200, ["OK"]), seconds=0.0012)
        for i in range(1000, 1003)]
