#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Wrong passwords as fast as the server answers: CONNS kept-alive HTTPS connections (source
addresses in turn from --from) each repeating GET /metrics with Basic auth USER and a new
wrong password every time, so that no answer can be remembered. Runs until the file --stop
exists, then prints one JSON document: requests answered, how many were 401, errors
(connections lost and opened again)."""
import argparse
import base64
import http.client
import json
import os
import ssl
import threading


def flood(a, src, st, lock, n):
    ctx = ssl.create_default_context(cafile=a.cafile)
    conn, i = None, 0
    while not os.path.exists(a.stop):
        i += 1
        cred = base64.b64encode(b"%s:wrong-%d-%d" % (a.user.encode(), n, i)).decode()
        try:
            if conn is None:
                conn = http.client.HTTPSConnection(a.addr, a.port, context=ctx, timeout=10,
                                                   source_address=(src, 0))
            conn.request("GET", "/metrics", headers={"Authorization": "Basic " + cred})
            r = conn.getresponse()
            r.read()
            with lock:
                st["answered"] += 1
                st["401"] += r.status == 401
        except (OSError, http.client.HTTPException):
            with lock:
                st["errors"] += 1
            conn = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--user", default="prom")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--from", dest="src", required=True)
    ap.add_argument("--stop", required=True)
    a = ap.parse_args()
    srcs = a.src.split(",")
    st = {"answered": 0, "401": 0, "errors": 0}
    lock = threading.Lock()
    ts = [threading.Thread(target=flood, args=(a, srcs[n % len(srcs)], st, lock, n))
          for n in range(a.conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(st))


if __name__ == "__main__":
    main()
