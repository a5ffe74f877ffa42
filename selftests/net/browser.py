#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A headless Chromium for the network tests, driven over the DevTools protocol.

Chromium runs with --remote-debugging-pipe: the protocol's JSON messages, each ended by a NUL
byte, go to the browser on its fd 3 and come back on its fd 4 (no port, no WebSocket library).
This process starts the browser (in the caller's network namespace: run it with ip netns
exec), opens one page, then answers commands, one JSON object per line, read from --commands
and written to --replies:

  {"cmd": "goto", "url": U}          navigate and wait for the load event: {"ok": true}
  {"cmd": "eval", "js": E}           evaluate E in the page (a promise is awaited):
                                     {"ok": true, "value": ...} or {"ok": false, "error": ...}
  {"cmd": "quit"}                    close the browser and end

It writes "ready" to --ready once the page exists. The browser and its helpers end with this
process (the pipe closes, and the browser is killed by PID if it does not leave by itself).
"""
import argparse
import json
import os
import subprocess
import sys
import time

# What every test browser runs with: headless, as root, nothing that phones home or updates.
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
    "--mute-audio", "--remote-debugging-pipe",
]


class Browser:
    def __init__(self, binary, user_data_dir, extra):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # The child must find the two pipes as its fds 3 and 4, inheritable: os.pipe() gives
        # close-on-exec descriptors (possibly 3 itself, which dup2 would leave as it is), and
        # close_fds would close the copies.
        def fds():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)
        self.proc = subprocess.Popen(
            [binary] + CHROMIUM_FLAGS + ["--user-data-dir=" + user_data_dir] + extra
            + ["about:blank"],
            preexec_fn=fds, close_fds=False,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(user_data_dir, "chromium.log"), "w"))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf = b""
        self.next_id = 1
        self.session = None
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from the browser")
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                raise EOFError("the browser closed its pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, timeout=30, session=True):
        """One protocol command; returns its result (events in between are dropped)."""
        mid = self.next_id
        self.next_id += 1
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=30):
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                del self.events[:i + 1]
                return m
        while True:
            m = self._read_message(deadline)
            if m.get("method") == method:
                return m

    def open_page(self):
        self.events = []
        targets = self.call("Target.getTargets", session=False)["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": page["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        self.call("Page.enable")

    def goto(self, url):
        self.events = []
        res = self.call("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise RuntimeError("navigate to %s: %s" % (url, res["errorText"]))
        self.wait_event("Page.loadEventFired")

    def eval(self, js, timeout=30):
        res = self.call("Runtime.evaluate", {"expression": js, "awaitPromise": True,
                                             "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise RuntimeError(d.get("exception", {}).get("description") or d.get("text"))
        return res["result"].get("value")

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def serve(b, commands, replies):
    for line in commands:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            if req["cmd"] == "quit":
                replies.write(json.dumps({"ok": True}) + "\n")
                replies.flush()
                return
            if req["cmd"] == "goto":
                b.goto(req["url"])
                rep = {"ok": True}
            elif req["cmd"] == "eval":
                rep = {"ok": True, "value": b.eval(req["js"], req.get("timeout", 30))}
            else:
                rep = {"ok": False, "error": "unknown command %r" % req["cmd"]}
        except Exception as e:  # the test reads the error and fails with it
            rep = {"ok": False, "error": str(e)}
        replies.write(json.dumps(rep) + "\n")
        replies.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--user-data-dir", required=True)
    ap.add_argument("--commands", required=True, help="FIFO of commands, one JSON per line")
    ap.add_argument("--replies", required=True, help="FIFO of replies, one JSON per line")
    ap.add_argument("--ready", required=True)
    ap.add_argument("flags", nargs="*", help="more Chromium flags (after --)")
    a = ap.parse_args()
    b = Browser(a.chromium, a.user_data_dir, a.flags)
    try:
        b.open_page()
        with open(a.ready, "w") as f:
            f.write("ready\n")
        with open(a.commands) as commands, open(a.replies, "w") as replies:
            serve(b, commands, replies)
    finally:
        b.close()


if __name__ == "__main__":
    sys.exit(main())
