#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Wrongly typed tracepoint calls and field declarations must not compile,
in C and in C++, with GCC and with Clang when it is installed; the matching
correct code must, warning-free under strict flags. Usage:
check-compile-errors.py CC CXX INCLUDE_DIR"""
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

include = sys.argv[3]
TOOLCHAINS = [(sys.argv[1], sys.argv[2])]
if shutil.which("clang") and shutil.which("clang++"):
    TOOLCHAINS.append(("clang", "clang++"))
STRICT = ["-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow", "-Wconversion",
          "-Wcast-align", "-Wold-style-cast", "-Wdeclaration-after-statement"]

PROVIDER = """
#include <reel/tracepoint.h>
REEL_EVENT(t, ev, REEL_LOGLEVEL_INFO,
    (int32_t n, const char *s, double d),
    reel_field_integer(int32_t, n, n)
    reel_field_string(s, s)
    reel_field_float(double, d, d))
"""

# (name, body or declaration, languages it must fail in)
CALLS = [
    ("ok", "reel_tracepoint(t, ev, 1, \"s\", 2.0);", None),
    ("pointer for integer", "reel_tracepoint(t, ev, \"s\", \"s\", 2.0);", "c c++"),
    ("integer for string", "reel_tracepoint(t, ev, 1, 42, 2.0);", "c c++"),
    ("wrong pointer type", "int x = 0; reel_tracepoint(t, ev, 1, &x, 2.0);", "c c++"),
    ("float for integer", "reel_tracepoint(t, ev, 1.5, \"s\", 2.0);", "c c++"),
    ("struct for double", "struct { int a; } st = {0}; reel_tracepoint(t, ev, 1, \"s\", st);",
     "c c++"),
    ("too few arguments", "reel_tracepoint(t, ev, 1, \"s\");", "c c++"),
    ("too many arguments", "reel_tracepoint(t, ev, 1, \"s\", 2.0, 3);", "c c++"),
    ("unknown event", "reel_tracepoint(t, nope, 1);", "c c++"),
]
DECLS = [
    ("float declared as integer",
     "REEL_EVENT(t, bad, REEL_LOGLEVEL_INFO, (double v), reel_field_integer(double, v, v))"),
    ("integer declared as float",
     "REEL_EVENT(t, bad, REEL_LOGLEVEL_INFO, (int v), reel_field_float(int, v, v))"),
    ("array of doubles",
     "REEL_EVENT(t, bad, REEL_LOGLEVEL_INFO, (const double *v), reel_field_array(double, v, v, 2))"),
    ("enum of undeclared enumeration",
     "REEL_EVENT(t, bad, REEL_LOGLEVEL_INFO, (int v), reel_field_enum(t, nothing, int, v, v))"),
]


def compiles(lang, source, strict=False):
    suffix = ".c" if lang == "c" else ".cpp"
    compiler = cc if lang == "c" else cxx
    std = "-std=c11" if lang == "c" else "-std=c++11"
    c_only, cxx_only = {"-Wdeclaration-after-statement"}, {"-Wold-style-cast"}
    flags = [f for f in STRICT if f not in (cxx_only if lang == "c" else c_only)] if strict else []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("t" + suffix)
        path.write_text(source)
        proc = subprocess.run([compiler, std, *flags, "-I", include, "-c", str(path), "-o",
                               str(Path(tmp) / "t.o")], capture_output=True, text=True)
        if strict and proc.returncode != 0:
            print(proc.stderr)
        return proc.returncode == 0


failures = 0
total = 0
for cc, cxx in TOOLCHAINS:
  for lang in ("c", "c++"):
    for name, body, fail_in in CALLS:
        source = PROVIDER + "void f(void);\nvoid f(void) {\n" + body + "\n}\n"
        if lang == "c++":
            source = source.replace("void f(void)", "void f()")
        want_ok = fail_in is None or lang not in fail_in.split()
        got_ok = compiles(lang, source, strict=want_ok)
        status = "ok" if got_ok == want_ok else "FAIL"
        failures += status == "FAIL"
        total += 1
        print(f"{status}: [{cc} {lang}] {name}: {'compiles' if got_ok else 'rejected'}")
    for name, decl in DECLS:
        got_ok = compiles(lang, "#include <reel/tracepoint.h>\n" + decl + "\n")
        status = "ok" if not got_ok else "FAIL"
        failures += status == "FAIL"
        total += 1
        print(f"{status}: [{cc} {lang}] {name}: {'compiles' if got_ok else 'rejected'}")

print(f"{total - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
