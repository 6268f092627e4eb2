#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets from the binlog fixtures.

  tests/fuzz/corpus/fuzz_binlog_event/  one selector byte + one event (CRC
      stripped), for each parser; selector 6 seeds are [u16 len][TABLE_MAP]
      [rows event] pairs; selector 5 seeds are binary JSON values.
  tests/fuzz/corpus/fuzz_binlog_file/   small binlog files: the fixture's
      FORMAT_DESCRIPTION (checksum algorithm set to NONE) followed by a few
      events without their CRC32, so mutations reach the parsers.
  tests/fuzz/corpus/fuzz_binlog_stream/ the same files without the magic.
  tests/fuzz/corpus/fuzz_json_binary/   a bound byte + binary JSON values.
  tests/fuzz/corpus/fuzz_rows_decode/   [flags][u16 len][TABLE_MAP][rows event].
  tests/fuzz/corpus/fuzz_compressed/    [flags][u16 len][TABLE_MAP][kind][delta]
      [uncompressed rows], from the compressed fixture's inflated rows.
  tests/fuzz/corpus/fuzz_table_map/     a flavor byte + TABLE_MAP bodies.

Usage: tests/fuzz/make_corpus.py  (from the repository root)
"""
import os
import shutil
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
MAX_SEED = 4096
MARIADB = 0x80

ROWS = set(range(23, 26)) | set(range(166, 172))


def events(name):
    data = open(os.path.join(FIX, "mariadb-%s.bin" % name), "rb").read()
    pos = 4
    while pos < len(data):
        size = struct.unpack_from("<I", data, pos + 9)[0]
        yield data[pos:pos + size]
        pos += size


def strip_crc(ev):
    """The event without its CRC32, event_size and log_pos left as they are."""
    body = bytearray(ev[:-4])
    struct.pack_into("<I", body, 9, len(body))
    return bytes(body)


def fde_without_checksum(ev):
    """The FDE with its checksum algorithm byte set to NONE (the slot stays)."""
    b = bytearray(ev)
    b[len(b) - 5] = 0
    b[len(b) - 4:] = b"\0\0\0\0"
    return bytes(b)


def write(dirname, fname, data):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, fname), "wb") as f:
        f.write(data)


def rows_parts(ev):
    """A rows event (CRC stripped) split into (kind, rows data): kind as the
    fuzz_compressed target reads it, rows data inflated when compressed."""
    t = ev[4]
    v2 = t in (30, 31, 32, 169, 170, 171)
    pos = 19 + 8
    if v2:
        pos += struct.unpack_from("<H", ev, pos)[0]
    first = ev[pos]
    if first < 0xfb:
        n_cols, pos = first, pos + 1
    elif first == 0xfc:
        n_cols, pos = struct.unpack_from("<H", ev, pos + 1)[0], pos + 3
    else:
        n_cols, pos = int.from_bytes(ev[pos + 1:pos + 4], "little"), pos + 4
    op = {23: 0, 24: 1, 25: 2, 30: 0, 31: 1, 32: 2, 166: 0, 167: 1, 168: 2, 169: 0, 170: 1,
          171: 2}[t]
    pos += ((n_cols + 7) // 8) * (2 if op == 1 else 1)
    data = ev[pos:]
    if t >= 166:
        lenlen = data[0] & 7
        data = zlib.decompress(data[1 + lenlen:])
    return op | (4 if v2 else 0), data


def main():
    ev_dir = os.path.join(OUT, "fuzz_binlog_event")
    file_dir = os.path.join(OUT, "fuzz_binlog_file")
    stream_dir = os.path.join(OUT, "fuzz_binlog_stream")
    json_dir = os.path.join(OUT, "fuzz_json_binary")
    rows_dir = os.path.join(OUT, "fuzz_rows_decode")
    comp_dir = os.path.join(OUT, "fuzz_compressed")
    tm_dir = os.path.join(OUT, "fuzz_table_map")
    for d in (ev_dir, file_dir, stream_dir, json_dir, rows_dir, comp_dir, tm_dir):
        shutil.rmtree(d, ignore_errors=True)
    selector = {15: 0, 2: 1, 165: 1, 4: 2, 16: 2, 162: 2, 19: 3}
    seen_types = {}
    for name in ("full", "minimal", "noblob", "compressed", "nolog"):
        evs = list(events(name))
        fde = evs[0]
        last_tm = None
        pairs = 0
        heads = 0
        small_file = [fde_without_checksum(fde)]
        for i, ev in enumerate(evs):
            t = ev[4]
            if t == 15:
                body = ev  # the FDE keeps its own checksum
            else:
                body = strip_crc(ev)
            if t in selector and seen_types.get((name, t), 0) < 1 and len(body) <= MAX_SEED:
                seen_types[(name, t)] = seen_types.get((name, t), 0) + 1
                write(ev_dir, "%s-%03d-type%d" % (name, i, t),
                      bytes([selector[t] | MARIADB]) + body)
            if t == 19:
                last_tm = strip_crc(ev)
                if seen_types.get((name, "tm"), 0) < 2:
                    seen_types[(name, "tm")] = seen_types.get((name, "tm"), 0) + 1
                    write(tm_dir, "%s-%03d" % (name, i), bytes([MARIADB]) + last_tm[19:])
            if t in ROWS and last_tm and len(last_tm) + len(body) <= MAX_SEED:
                k = seen_types.get((name, "rows"), 0)
                if k < 4:
                    seen_types[(name, "rows")] = k + 1
                    write(rows_dir, "%s-%03d" % (name, i),
                          bytes([MARIADB | (k & 3)]) + struct.pack("<H", len(last_tm)) +
                          last_tm + body)
                    kind, data = rows_parts(body)
                    if len(last_tm) + len(data) <= MAX_SEED:
                        write(comp_dir, "%s-%03d" % (name, i),
                              bytes([MARIADB | (k & 3)]) + struct.pack("<H", len(last_tm)) +
                              last_tm + bytes([kind, 0]) + data)
            if t in ROWS:
                if heads < 2:
                    heads += 1
                    write(ev_dir, "%s-%03d-head" % (name, i), bytes([4 | MARIADB]) + body[:64])
                if last_tm and len(last_tm) + len(body) <= MAX_SEED and pairs < 4:
                    pairs += 1
                    write(ev_dir, "%s-%03d-rows" % (name, i),
                          bytes([6 | MARIADB]) + struct.pack("<H", len(last_tm)) + last_tm + body)
                    if sum(map(len, small_file)) + len(last_tm) + len(body) <= MAX_SEED:
                        small_file += [last_tm, body]
        out = b"\xfebin" + b"".join(small_file)
        write(file_dir, "%s-small.bin" % name, out)
        write(stream_dir, "%s-small" % name, b"".join(small_file))
    json_seeds = [
        bytes([0x00, 0x01, 0x00, 0x0c, 0x00, 0x0b, 0x00, 0x01, 0x00, 0x05, 0x01, 0x00, 0x61]),
        bytes([0x02, 0x04, 0x00, 0x13, 0x00, 0x04, 0x01, 0x00, 0x04, 0x00, 0x00, 0x05, 0xfe,
               0xff, 0x0c, 0x10, 0x00, 0x02, 0x68, 0x69]),
        bytes([0x01, 0x01, 0, 0, 0, 0x16, 0, 0, 0, 0x13, 0, 0, 0, 0x01, 0x00, 0x0c, 0x14, 0, 0,
               0, 0x78, 0x01, 0x79]),
        bytes([0x0f, 0xf6, 0x04, 0x04, 0x02, 0x8c, 0x22]),
        bytes([0x0b, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f]),
    ]
    # [[], []] with both entries on one child: sharing, small enough to pass
    json_seeds.append(bytes([0x02, 0x02, 0x00, 0x0e, 0x00, 0x02, 0x0a, 0x00, 0x02, 0x0a, 0x00,
                             0x00, 0x00, 0x04, 0x00]))
    # found by fuzz_json_binary's text bound on the converter before issue 17: an object
    # whose only value points back at the object itself
    json_seeds.append(bytes([0x00, 0x01, 0x00, 0x0c, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
                             0x00, 0x00]))
    for k, s in enumerate(json_seeds):
        if k < 5:
            write(ev_dir, "json-%d" % k, bytes([5]) + s)
        write(json_dir, "json-%d" % k, bytes([0]) + s)
    for d in (ev_dir, file_dir, stream_dir, json_dir, rows_dir, comp_dir, tm_dir):
        print("%s: %d seeds" % (os.path.basename(d), len(os.listdir(d))))


if __name__ == "__main__":
    main()
