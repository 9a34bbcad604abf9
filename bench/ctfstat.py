#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ctfstat: what a CTF 1.8 trace holds, read from packet headers only.

    ctfstat.py DIR

Finds every trace (a `metadata` file) under DIR, learns the layout of the
packet header and packet context from the TSDL metadata, then walks each
stream file packet by packet (by packet_size) without decoding events, so
that it takes milliseconds on traces of millions of events, which
babeltrace2 needs many seconds to read. Works on Reel's and LTTng's traces
alike. Prints one line:

    ctfstat traces=T streams=S packets=P discarded=D bytes=B

discarded: the events the tracer counted as lost, summed over streams (a
stream's events_discarded is cumulative, so its last packet holds its
total); bytes: the size of every file of the traces (streams, metadata,
indexes). Exits non-zero on a layout it cannot read.
"""

import os
import re
import struct
import sys

CTF_MAGIC = 0xC1FC1FC1
METADATA_MAGIC = 0x75D11D57


class Bad(Exception):
    pass


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def integer_spec(body):
    """(size_bits, align_bits) of an `integer { ... }` body."""
    attrs = dict(re.findall(r"(\w+)\s*=\s*([^;]+);", body))
    try:
        size = int(attrs["size"], 0)
    except (KeyError, ValueError):
        raise Bad("integer without a size")
    align = int(attrs.get("align", "8" if size % 8 == 0 else "1"), 0)
    return size, align


def unpacketize(data):
    """The TSDL text of a metadata file, plain or packetized (as LTTng
    writes it: packets of a 37-byte header and text)."""
    for bo in "<>":
        if data[:4] == struct.pack(bo + "I", METADATA_MAGIC):
            break
    else:
        return data
    text, off = [], 0
    while off < len(data):
        magic, content, size = struct.unpack_from(bo + "I20xII", data, off)
        if magic != METADATA_MAGIC or content < 37 * 8 or size < content or size % 8:
            raise Bad("bad metadata packet at offset %d" % off)
        text.append(data[off + 37:off + content // 8])
        off += size // 8
    return b"".join(text)


def parse_metadata(data):
    """Return (byte_order, header_fields, {stream_id: context_fields}); a
    field list is [(name, size_bits, align_bits, count)]."""
    text = strip_comments(unpacketize(data).decode("utf-8", "replace"))
    aliases = {}
    for body, name in re.findall(r"typealias\s+integer\s*\{([^}]*)\}\s*:=\s*([^;]+);", text):
        aliases[" ".join(name.split())] = integer_spec(body)

    def fields_of(body):
        fields = []
        # Inline integer types first, then plain `TYPE NAME[N];` statements.
        for spec, name, count in re.findall(
                r"integer\s*\{([^}]*)\}\s*(\w+)\s*(?:\[\s*(\d+)\s*\])?\s*;", body):
            fields.append((name, *integer_spec(spec), int(count or 1), body.find(spec)))
        plain = re.sub(r"integer\s*\{[^}]*\}\s*\w+\s*(?:\[[^\]]*\])?\s*;",
                       lambda m: " " * len(m.group(0)), body)
        for m in re.finditer(r"([A-Za-z_][\w ]*?)\s+(\w+)\s*(?:\[\s*(\d+)\s*\])?\s*;", plain):
            tname = " ".join(m.group(1).split())
            if tname not in aliases:
                raise Bad("unknown type %r in a packet struct" % tname)
            fields.append((m.group(2), *aliases[tname], int(m.group(3) or 1), m.start()))
        fields.sort(key=lambda f: f[4])
        return [f[:4] for f in fields]

    structs = {name: body for name, body in
               re.findall(r"struct\s+(\w+)\s*\{([^{}]*)\}\s*(?:align\s*\(\s*\d+\s*\))?\s*;", text)}

    def struct_ref(ref):
        ref = ref.strip()
        m = re.match(r"struct\s*\{([^{}]*)\}", ref)
        if m:
            return fields_of(m.group(1))
        m = re.match(r"struct\s+(\w+)$", ref)
        if m and m.group(1) in structs:
            return fields_of(structs[m.group(1)])
        raise Bad("cannot resolve %r" % ref)

    m = re.search(r"trace\s*\{(.*?)\}\s*;\s*(?=\w|$)", text, flags=re.S)
    trace_block = m.group(1) if m else ""
    bo = re.search(r"byte_order\s*=\s*(\w+)\s*;", trace_block)
    byte_order = {"le": "<", "be": ">", "network": ">"}.get(bo.group(1) if bo else "le", "<")
    m = re.search(r"packet\.header\s*:=\s*(struct\s*(?:\w+|\{[^{}]*\}))\s*;", trace_block)
    if not m:
        raise Bad("no packet.header in the trace block")
    header = struct_ref(m.group(1))

    contexts = {}
    for block in re.findall(r"\bstream\s*\{(.*?)\n\}\s*;", text, flags=re.S):
        sid = re.search(r"\bid\s*=\s*(\d+)\s*;", block)
        ctx = re.search(r"packet\.context\s*:=\s*(struct\s*(?:\w+|\{[^{}]*\}))\s*;", block)
        if ctx:
            contexts[int(sid.group(1)) if sid else 0] = struct_ref(ctx.group(1))
    if not contexts:
        raise Bad("no stream with a packet.context")
    return byte_order, header, contexts


def layout(fields, start_bits=0):
    """{name: (offset_bits, size_bits)} and the end offset, in bits."""
    out, pos = {}, start_bits
    for name, size, align, count in fields:
        pos = (pos + align - 1) // align * align
        out[name] = (pos, size)
        pos += size * count
    return out, pos


def read_uint(buf, offset_bits, size_bits, bo):
    if offset_bits % 8 or size_bits not in (8, 16, 32, 64):
        raise Bad("unaligned packet field")
    fmt = {8: "B", 16: "H", 32: "I", 64: "Q"}[size_bits]
    return struct.unpack_from(bo + fmt, buf, offset_bits // 8)[0]


def scan_trace(trace_dir):
    with open(os.path.join(trace_dir, "metadata"), "rb") as f:
        bo, header, contexts = parse_metadata(f.read())
    hdr, hdr_end = layout(header)
    streams = packets = discarded = 0
    for name in sorted(os.listdir(trace_dir)):
        path = os.path.join(trace_dir, name)
        if name == "metadata" or name.startswith(".") or not os.path.isfile(path):
            continue
        streams += 1
        last_discarded = 0
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            off = 0
            while off < size:
                f.seek(off)
                buf = f.read(4096)
                sid = read_uint(buf, *hdr["stream_id"], bo) if "stream_id" in hdr else 0
                if "magic" in hdr and read_uint(buf, *hdr["magic"], bo) != CTF_MAGIC:
                    raise Bad("%s: bad magic at offset %d" % (path, off))
                if sid not in contexts:
                    raise Bad("%s: unknown stream id %d" % (path, sid))
                ctx, _ = layout(contexts[sid], hdr_end)
                psize = read_uint(buf, *ctx["packet_size"], bo)
                if psize % 8 or psize == 0 or off + psize // 8 > size:
                    raise Bad("%s: bad packet_size %d at offset %d" % (path, psize, off))
                if "events_discarded" in ctx:
                    last_discarded = read_uint(buf, *ctx["events_discarded"], bo)
                packets += 1
                off += psize // 8
        discarded += last_discarded
    return streams, packets, discarded


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: ctfstat.py DIR")
    root = sys.argv[1]
    traces = streams = packets = discarded = total = 0
    for d, dirs, files in os.walk(root):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
        if "metadata" in files:
            s, p, n = scan_trace(d)
            traces, streams, packets, discarded = traces + 1, streams + s, packets + p, discarded + n
    if not traces:
        sys.exit("ctfstat: no trace under %s" % root)
    print("ctfstat traces=%d streams=%d packets=%d discarded=%d bytes=%d"
          % (traces, streams, packets, discarded, total))


if __name__ == "__main__":
    try:
        main()
    except (Bad, OSError) as e:
        sys.exit("ctfstat: %s" % e)
