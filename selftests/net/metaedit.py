#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""tlsfw's maps as the tests find them, and one edit of them. Run inside the namespace (ip
netns exec). A map is found from the ingress program of IFACE: its XDP program, else tlsfw's
tc ingress filter (where XDP cannot attach).

  metaedit.py map NAME IFACE     print "ID MAX_ENTRIES" of tlsfw's map NAME
  metaedit.py other-build IFACE  make the enforced policy look installed by another build

other-build: tlsfw_meta records the SHA-256 of the BPF object the programs came from
(tlsfw_abi.h, struct tlsfw_meta.build); apply keeps the programs in use only when it equals
its own. This flips every bit of that field with bpftool, so that the next apply must take
the path of another build (load, verify, replace). Prints the map id it changed.
"""
import json
import subprocess
import sys


def run(*args):
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def ingress_prog(iface):
    """The id of tlsfw's XDP program on IFACE, else of its tc ingress filter."""
    link = run("ip", "-d", "-j", "link", "show", iface)[0]
    if "xdp" in link:
        return link["xdp"]["prog"]["id"]
    for f in run("tc", "-j", "filter", "show", "dev", iface, "ingress"):
        prog = f.get("options", {}).get("prog", {})
        if prog.get("name", "").startswith("tlsfw_tc_ingres"):
            return prog["id"]
    sys.exit("no tlsfw program on the ingress of %s" % iface)


def find_map(name, iface):
    """The bpftool record of tlsfw's map NAME behind IFACE's ingress program."""
    prog = ingress_prog(iface)
    for mid in run("bpftool", "prog", "show", "id", str(prog), "-j")["map_ids"]:
        m = run("bpftool", "map", "show", "id", str(mid), "-j")
        if m["name"] == name:
            return m
    sys.exit("no map %s behind the ingress program of %s" % (name, iface))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "map":
        m = find_map(sys.argv[2], sys.argv[3])
        print(m["id"], m["max_entries"])
        return
    if len(sys.argv) != 3 or sys.argv[1] != "other-build":
        sys.exit(__doc__)
    mid = find_map("tlsfw_meta", sys.argv[2])["id"]
    entry = run("bpftool", "map", "lookup", "id", str(mid), "key", "0", "0", "0", "0", "-j")
    value = [int(b, 16) for b in entry["value"]]
    # build follows policy_hash (72 bytes, "sha256:..."), default_action, backend, pad[6]
    at = bytes(value).find(b"sha256:")
    if at < 0:
        sys.exit("tlsfw_meta holds no policy hash")
    build = at + 72 + 8
    for i in range(build, build + 32):
        value[i] ^= 0xff
    subprocess.run(["bpftool", "map", "update", "id", str(mid), "key", "0", "0", "0", "0",
                    "value"] + [str(b) for b in value], check=True)
    print(mid)


if __name__ == "__main__":
    main()
