#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# test_require_tls.sh decided by tc on wan0's egress: both resets built in tc_run.
REQ_EGRESS=1 exec "$(dirname "$0")/test_require_tls.sh"
