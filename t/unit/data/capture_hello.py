#!/usr/bin/env python3
"""Capture real ClientHellos for the secure_hello fixtures.

Listens on 127.0.0.1:PORT only, accepts at most MAXCONN connections (bounded by a
deadline), and for each one saves
  NAME-N.records  the raw TLS records as received, up to the end of the ClientHello
  NAME-N.bin      the reassembled handshake message (type 1, 3-byte length, body),
                  i.e. what OpenSSL's msg callback hands mod_secure
then closes the connection without answering (the client fails, which is fine).

usage: capture_hello.py PORT OUTDIR NAME [MAXCONN] [SECONDS]
"""
import os
import socket
import sys
import time


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def capture_one(conn):
    raw = b""
    msg = b""
    while True:
        hdr = read_exact(conn, 5)
        if hdr[0] != 22:
            raise ValueError("record type %d is not handshake" % hdr[0])
        rlen = int.from_bytes(hdr[3:5], "big")
        payload = read_exact(conn, rlen)
        raw += hdr + payload
        msg += payload
        if len(msg) >= 4:
            want = 4 + int.from_bytes(msg[1:4], "big")
            if len(msg) >= want:
                return raw, msg[:want]


def main():
    port, outdir, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    maxconn = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    deadline = time.time() + (float(sys.argv[5]) if len(sys.argv) > 5 else 60)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(4)
    n = 0
    while n < maxconn and time.time() < deadline:
        srv.settimeout(max(0.1, deadline - time.time()))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        with conn:
            conn.settimeout(10)
            try:
                raw, msg = capture_one(conn)
            except (EOFError, ValueError, socket.timeout) as e:
                print("connection %d: %s" % (n, e), file=sys.stderr)
                continue
        base = os.path.join(outdir, "%s-%d" % (name, n))
        with open(base + ".records", "wb") as f:
            f.write(raw)
        with open(base + ".bin", "wb") as f:
            f.write(msg)
        print("%s: %d-byte hello in %d record bytes" % (base, len(msg), len(raw)))
        n += 1
    srv.close()


if __name__ == "__main__":
    main()
