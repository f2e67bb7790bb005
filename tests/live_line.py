#!/usr/bin/env python3
"""The live progress line and log lines share a terminal without sharing a line.

Runs `td3d run` on a pseudo-terminal (so the live line is drawn) with info-level logging and a
checkpoint every second (so log lines arrive while the live line is up), then checks every
line as a terminal would show it: the text after its last carriage return never holds both
the live line ("| ETA") and a log line's level marker ("Z I [", "Z W [").
usage: live_line.py TD3D_BINARY
"""
import os
import pty
import re
import sys
import tempfile


def mixed_lines(text):
    """Prints and counts the terminal lines (what is left on screen after each carriage
    return) that hold both the live line and a log line."""
    bad = []
    for line in text.split("\n"):
        shown = line.rstrip("\r").split("\r")[-1]  # a pty ends lines with \r\n
        if "| ETA" in shown and re.search(r"Z [IWE] \[", shown):
            bad.append(repr(line))
    if bad:
        print("\n".join(bad[:5]))
        print("FAIL: %d terminal lines hold both the live line and a log line" % len(bad))
    return len(bad)


def main():
    td3d = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="td3d_live_line.") as tmp:
        argv = [td3d, "run", "--env", "Pendulum-v1", "--steps", "6000", "--hidden", "32,32",
                "--batch", "64", "--start-steps", "500", "--eval-every", "1000",
                "--eval-episodes", "2", "--checkpoint-every", "1", "--log-level", "info",
                "--experience-port", "29621", "--weights-port", "29622",
                "--control-port", "29623", "--status-bind", "off",
                "--out", os.path.join(tmp, "run")]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(td3d, argv)
        out = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
    text = out.decode("utf-8", "replace")
    if os.waitstatus_to_exitcode(status) != 0:
        print(text)
        print("FAIL: td3d run exited %d" % os.waitstatus_to_exitcode(status))
        return 1
    live = sum(1 for _ in re.finditer(r"\| ETA", text))
    logs = len(re.findall(r"Z [IW] \[", text))
    if live == 0 or logs == 0:
        print(text)
        print("FAIL: expected live lines and log lines, saw %d and %d" % (live, logs))
        return 1
    if mixed_lines(text):
        return 1
    print("ok: %d live-line draws, %d log lines, none on the same line" % (live, logs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
