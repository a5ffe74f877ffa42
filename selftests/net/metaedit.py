#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Make the policy enforced in this network namespace look installed by another tlsfw build.

tlsfw_meta records the SHA-256 of the BPF object the programs came from (tlsfw_abi.h,
struct tlsfw_meta.build); apply keeps the programs in use only when it equals its own. This
flips every bit of that field with bpftool, found from the XDP program of IFACE (or its tc
ingress filter), so that the next apply must take the path of another build (load, verify,
replace). Run it inside the namespace (ip netns exec). Prints the map id it changed.

  metaedit.py other-build IFACE
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


def meta_map(iface):
    prog = ingress_prog(iface)
    for mid in run("bpftool", "prog", "show", "id", str(prog), "-j")["map_ids"]:
        if run("bpftool", "map", "show", "id", str(mid), "-j")["name"] == "tlsfw_meta":
            return mid
    sys.exit("no tlsfw_meta map behind the ingress program of %s" % iface)


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "other-build":
        sys.exit(__doc__)
    mid = meta_map(sys.argv[2])
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
