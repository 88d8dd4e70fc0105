#!/usr/bin/env python3
"""mkserial.py: writes the serial/config record for the last flash page.

    mkserial.py EQ-B0001-W01 serial.bin
    st-flash write serial.bin 0x0800FC00

Record (board.h): "EQSN", version 1, length n, 2 zero bytes, the serial
zero-padded to 32 bytes, CRC-32 (zlib) of those 40 bytes, little-endian.
"""
import re
import struct
import sys
import zlib

if len(sys.argv) != 3:
    sys.exit("usage: mkserial.py SERIAL OUT.bin")
serial = sys.argv[1].encode("ascii")
if not re.fullmatch(rb"[A-Za-z0-9-]{1,32}", serial):
    sys.exit("mkserial.py: serial must be 1..32 of [A-Za-z0-9-]")
body = b"EQSN" + struct.pack("<BBH", 1, len(serial), 0) + serial.ljust(32, b"\0")
with open(sys.argv[2], "wb") as f:
    f.write(body + struct.pack("<I", zlib.crc32(body)))
