#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What a capture shows of the TLS flows in it: an independent witness for the name tests.

tshark (Wireshark's dissector, which reassembles a ClientHello from its TCP segments) reads
the pcap; this prints one JSON object with a list "flows", one per TCP connection to --port
that carried payload or a SYN, in the order they began:

  port            the client's port
  syn             the capture saw the client's SYN
  client_bytes    TCP payload bytes from the client, server_bytes those from the server
  hello           the ClientHello, when the capture holds all of it (else null):
                    sni            its server_name (null when it has none)
                    segments       the payload length of each TCP segment it spans
                    sni_offset     where the server_name extension begins, counted from the
                                   first byte of the TCP payload (the TLS record header)
                    sni_segment    which of the segments (1, 2, ...) that byte lies in
                    sni_last_segment  the segment of the name's last byte
                    ech            it carries encrypted_client_hello (0xfe0d)
                    groups         the named groups of its key shares (4588: X25519MLKEM768)
  server_hello    the capture holds a ServerHello of the flow

Usage: hello_witness.py --port 443 CAPTURE.pcap
"""
import argparse
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

EXT_ECH = 0xFE0D


def fields(packet, name):
    return [f for f in packet.iter("field") if f.get("name") == name]


def first(packet, name, default=None):
    f = fields(packet, name)
    return f[0].get("show") if f else default


def segment_of(segs, off):
    """Which segment (1, 2, ...) holds byte OFF of the stream."""
    end = 0
    for i, n in enumerate(segs):
        end += n
        if off < end:
            return i + 1
    return None


def client_hello(packet):
    """The ClientHello dissected in this packet, or None."""
    tls = next((p for p in packet.iter("proto") if p.get("name") == "tls"), None)
    if tls is None or "1" not in [f.get("show") for f in fields(tls, "tls.handshake.type")]:
        return None
    base = int(tls.get("pos"))
    segs = [int(f.get("size")) for f in fields(packet, "tcp.segment")]
    if not segs:
        segs = [int(first(packet, "tcp.len"))]
    types = [int(f.get("show")) for f in fields(tls, "tls.handshake.extension.type")]
    hello = {"sni": None, "segments": segs, "sni_offset": None, "sni_segment": None,
             "sni_last_segment": None,
             "ech": EXT_ECH in types,
             "groups": [int(f.get("show"))
                        for f in fields(tls, "tls.handshake.extensions_key_share_group")]}
    for f in fields(tls, "tls.handshake.extension.type"):
        if f.get("show") == "0":
            hello["sni_offset"] = int(f.get("pos")) - base
            hello["sni_segment"] = segment_of(segs, hello["sni_offset"])
    for f in fields(tls, "tls.handshake.extensions_server_name"):
        last = int(f.get("pos")) + int(f.get("size")) - 1 - base
        hello["sni_last_segment"] = segment_of(segs, last)
    hello["sni"] = first(tls, "tls.handshake.extensions_server_name")
    return hello


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True, help="the server's TCP port")
    ap.add_argument("pcap")
    a = ap.parse_args()
    # -o: reassemble TLS across TCP segments (the default, stated so that a user's
    # preferences cannot change it); -d: TLS on the port whatever it is.
    out = subprocess.run(
        ["tshark", "-n", "-r", a.pcap, "-T", "pdml", "-o", "tcp.desegment_tcp_streams:TRUE",
         "-o", "tls.desegment_ssl_records:TRUE", "-d", "tcp.port==%d,tls" % a.port,
         "tcp.port==%d" % a.port],
        capture_output=True, check=True).stdout
    flows = {}
    for packet in ET.fromstring(out).iter("packet"):
        stream = first(packet, "tcp.stream")
        sport = int(first(packet, "tcp.srcport"))
        dport = int(first(packet, "tcp.dstport"))
        from_client = dport == a.port
        port = sport if from_client else dport
        f = flows.setdefault(stream, {"port": port, "syn": False, "client_bytes": 0,
                                      "server_bytes": 0, "hello": None,
                                      "server_hello": False})
        n = int(first(packet, "tcp.len", "0"))
        if from_client:
            f["client_bytes"] += n
            if first(packet, "tcp.flags.syn") in ("1", "True") and \
                    first(packet, "tcp.flags.ack") in ("0", "False"):
                f["syn"] = True
            f["hello"] = f["hello"] or client_hello(packet)
        else:
            f["server_bytes"] += n
            if "2" in [x.get("show") for x in fields(packet, "tls.handshake.type")]:
                f["server_hello"] = True
    keep = [f for f in flows.values() if f["syn"] or f["client_bytes"] or f["server_bytes"]]
    json.dump({"flows": keep}, sys.stdout)
    print()


if __name__ == "__main__":
    sys.exit(main())
