#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Mount the BPF filesystem at /sys/fs/bpf where it is absent (bpftool, used by tests as a
# witness, pins there). tlsfw itself does not need it: see Documentation/architecture.md.
set -eu
if ! grep -qs ' /sys/fs/bpf bpf ' /proc/mounts; then
	mkdir -p /sys/fs/bpf
	mount -t bpf bpf /sys/fs/bpf
fi
