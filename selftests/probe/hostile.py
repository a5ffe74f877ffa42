#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Scripted servers for the probe tests: hostile, broken or deliberately non-compliant.

usage: hostile.py MODE ADDR PORT [CERT KEY | UPSTREAM_ADDR UPSTREAM_PORT BIND_ADDR]

modes
  endless      an SMTP greeting whose continuation lines never end
  binary       random bytes instead of a greeting
  longline     a greeting line of 1 MiB without a line end
  close        accept and close at once
  drip         a greeting sent one byte every 200 ms, forever
  silent       accept and say nothing
  busy         "421 try later" to every connection
  smtp-banner  a plaintext SMTP server (on a port that promises implicit TLS)
  http         answers whatever arrives with an HTTP 400 (on a port that promises TLS)
  inject       SMTP with STARTTLS that answers commands pipelined after STARTTLS inside the
               TLS session (CVE-2011-0411); needs CERT KEY
  strip        a proxy to UPSTREAM that removes STARTTLS from EHLO and CAPABILITY replies,
               connecting upstream from BIND_ADDR
  ftp, nntp, sieve, xmpp, postgres
               small compliant servers for the protocols no daemon in the tests speaks:
               the plaintext dialogue, the upgrade, then TLS; need CERT KEY
"""
import os
import re
import socket
import ssl
import sys
import threading
import time


def lines(conn):
    buf = b""
    while True:
        while b"\n" not in buf:
            d = conn.recv(4096)
            if not d:
                return
            buf += d
        line, buf = buf.split(b"\n", 1)
        yield line.rstrip(b"\r"), buf


def smtp_plain(conn, starttls):
    conn.sendall(b"220 mail.test ESMTP hostile\r\n")
    for line, _ in lines(conn):
        cmd = line.upper()
        if cmd.startswith(b"EHLO"):
            conn.sendall(b"250-mail.test\r\n" + (b"250-STARTTLS\r\n" if starttls else b"")
                         + b"250 8BITMIME\r\n")
        elif cmd == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"502 no\r\n")


def inject(conn, cert, key):
    conn.sendall(b"220 mail.test ESMTP vulnerable\r\n")
    gen = lines(conn)
    for line, rest in gen:
        cmd = line.upper()
        if cmd.startswith(b"EHLO"):
            conn.sendall(b"250-mail.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
        elif cmd == b"STARTTLS":
            conn.sendall(b"220 go ahead\r\n")
            # The flaw: what was read with STARTTLS stays buffered and is answered later.
            pending = [l.rstrip(b"\r") for l in rest.split(b"\n") if l.strip()]
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            tls = ctx.wrap_socket(conn, server_side=True)
            for _ in pending:
                tls.sendall(b"500 5.5.2 Error: command not recognized\r\n")
            for l2, _ in lines(tls):
                if l2.upper() == b"QUIT":
                    tls.sendall(b"221 bye\r\n")
                    return
                tls.sendall(b"250 ok\r\n")
            return
        else:
            conn.sendall(b"502 no\r\n")


def strip(conn, up_addr, up_port, bind_addr):
    up = socket.create_connection((up_addr, int(up_port)), source_address=(bind_addr, 0))
    state = {"tls": False}

    def down():  # server -> client, rewriting capability lines until TLS starts
        while True:
            d = up.recv(65536)
            if not d:
                break
            if not state["tls"]:
                if d[:1] == b"\x16":
                    state["tls"] = True
                else:
                    d = re.sub(rb"250-STARTTLS\r\n", b"", d)
                    d = re.sub(rb" STARTTLS", b"", d)
                    d = re.sub(rb"STLS\r\n", b"", d)
            conn.sendall(d)
        conn.close()

    t = threading.Thread(target=down, daemon=True)
    t.start()
    while True:
        d = conn.recv(65536)
        if not d:
            break
        if d[:1] == b"\x16":
            state["tls"] = True
        up.sendall(d)
    up.close()


def tls_wrap(conn, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx.wrap_socket(conn, server_side=True)


# protocol: (greeting, {command: reply}, upgrade command, its reply, {command in TLS: reply})
LINE_PROTOS = {
    "ftp": (b"220 ftp.test FTP server ready\r\n",
            {b"FEAT": b"211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n"},
            b"AUTH TLS", b"234 Proceed with negotiation.\r\n",
            {b"NOOP": b"200 NOOP ok.\r\n"}, b"500 Unknown command.\r\n"),
    "nntp": (b"200 news.test ready\r\n",
             {b"CAPABILITIES": b"101 Capability list:\r\nVERSION 2\r\nREADER\r\nSTARTTLS\r\n.\r\n"},
             b"STARTTLS", b"382 Continue with TLS negotiation\r\n",
             {b"DATE": b"111 20260101000000\r\n"}, b"500 What?\r\n"),
    "sieve": (b'"IMPLEMENTATION" "tlsfw-test"\r\n"SIEVE" "fileinto"\r\n"STARTTLS"\r\n'
              b'"VERSION" "1.0"\r\nOK "ready"\r\n', {},
              b"STARTTLS", b'OK "Begin TLS negotiation now"\r\n',
              {}, b'NO "unknown"\r\n'),
}


def line_proto(mode, conn, cert, key):
    greet, plain, up, up_reply, inside, unknown = LINE_PROTOS[mode]
    conn.sendall(greet)
    for line, _ in lines(conn):
        cmd = line.upper()
        if cmd == up:
            conn.sendall(up_reply)
            # compliant: whatever was pipelined after the upgrade command is discarded
            tls = tls_wrap(conn, cert, key)
            for l2, _ in lines(tls):
                tls.sendall(inside.get(l2.upper(), unknown))
            return
        conn.sendall(plain.get(cmd, unknown))


def xmpp(conn, cert, key):
    buf = b""
    while b"<stream:stream" not in buf or not buf.rstrip().endswith(b">"):
        d = conn.recv(4096)
        if not d:
            return
        buf += d
    conn.sendall(b"<?xml version='1.0'?><stream:stream from='mail.test' id='t1' version='1.0' "
                 b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
                 b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                 b"<required/></starttls></stream:features>")
    buf = b""
    while b"<starttls" not in buf or not buf.rstrip().endswith(b">"):
        d = conn.recv(4096)
        if not d:
            return
        buf += d
    conn.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    tls = tls_wrap(conn, cert, key)
    while tls.recv(4096):
        pass


def postgres(conn, cert, key):
    req = b""
    while len(req) < 8:
        d = conn.recv(8 - len(req))
        if not d:
            return
        req += d
    if req != b"\x00\x00\x00\x08\x04\xd2\x16\x2f":
        return
    conn.sendall(b"S")
    tls = tls_wrap(conn, cert, key)
    while tls.recv(4096):
        pass


def serve(mode, conn, extra):
    try:
        if mode == "endless":
            conn.sendall(b"220-mail.test hostile\r\n")
            while True:
                conn.sendall(b"220-and more\r\n" * 64)
        elif mode == "binary":
            while True:
                conn.sendall(os.urandom(4096))
                time.sleep(0.05)
        elif mode == "longline":
            conn.sendall(b"220 " + b"x" * (1 << 20))
            time.sleep(30)
        elif mode == "close":
            pass
        elif mode == "drip":
            while True:
                conn.sendall(b"2")
                time.sleep(0.2)
        elif mode == "silent":
            time.sleep(60)
        elif mode == "busy":
            conn.sendall(b"421 4.3.2 mail.test busy, try later\r\n")
        elif mode == "smtp-banner":
            smtp_plain(conn, False)
        elif mode == "http":
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        elif mode == "inject":
            inject(conn, *extra)
        elif mode == "strip":
            strip(conn, *extra)
        elif mode in LINE_PROTOS:
            line_proto(mode, conn, *extra)
        elif mode == "xmpp":
            xmpp(conn, *extra)
        elif mode == "postgres":
            postgres(conn, *extra)
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    extra = sys.argv[4:]
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(mode, conn, extra), daemon=True).start()


if __name__ == "__main__":
    main()
