#!/usr/bin/env python3
"""Log lines of td3d run's other processes do not land inside the learner's live line.

The learner draws the live progress line and clears it before its own log lines (a console
hook), but the launcher (td3d run itself) and the actors are other processes: their log lines
must clear the line themselves. Runs `td3d run` on a pseudo-terminal, waits for the live line,
kills an actor and the evaluator (SIGKILL, by pid; the launcher logs "the actor 0 was killed
by signal 9; restarting it in 1000 ms" and restarts them), then stops the run with SIGINT (the
launcher logs "stopping: ..."), and checks every line as a terminal would show it: the text
after its last carriage return never holds both the live line ("| ETA") and a log line of
the launcher ("Z W [run]", "Z I [run]").
usage: live_line_children.py TD3D_BINARY
"""
import os
import pty
import re
import select
import signal
import sys
import tempfile
import time

from live_line import mixed_lines


def children(pid):
    """{pid: argv} of the processes whose parent is pid."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out[int(d)] = [a.decode() for a in argv if a]
    return out


class Pty:
    def __init__(self, fd):
        self.fd, self.out = fd, b""

    def read_for(self, seconds, until=None):
        """Reads for up to seconds, or until the output holds the bytes until."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until in self.out):
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    return False
                if not chunk:
                    return False
                self.out += chunk
        return True


def main():
    td3d = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="td3d_live_line_children.") as tmp:
        argv = [td3d, "run", "--env", "Pendulum-v1", "--steps", "1000000", "--hidden", "32,32",
                "--batch", "64", "--start-steps", "500", "--eval-every", "100000",
                "--actors", "2", "--experience-port", "29651", "--weights-port", "29652",
                "--control-port", "29653", "--status-bind", "off",
                "--out", os.path.join(tmp, "run")]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(td3d, argv)
        p = Pty(fd)
        p.read_for(60, b"| ETA")
        killed = 0
        for suffix in ("/0", "/1", "/eval"):  # actor 0, actor 1, the evaluator
            found = None
            for _ in range(50):  # a child that is being restarted shows up once it runs
                found = next((child for child, cargv in children(pid).items()
                              if cargv[1:2] == ["actor"] and
                              any(a.startswith("--name=") and a.endswith(suffix) for a in cargv)),
                             None)
                if found:
                    break
                p.read_for(0.1)
            if found:
                os.kill(found, signal.SIGKILL)
                killed += 1
            else:
                print("no child named *%s among %s" % (suffix, children(pid)))
            p.read_for(1.5)
        os.kill(pid, signal.SIGINT)
        end = time.monotonic() + 60
        while time.monotonic() < end and p.read_for(1):
            pass
        _, status = os.waitpid(pid, 0)
    text = p.out.decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(text)
        print("FAIL: td3d run exited %d" % code)
        return 1
    live = len(re.findall(r"\| ETA", text))
    restarts = len(re.findall(r"Z W \[run\] the (actor \d|evaluator) was killed by signal 9 \(Killed\); "
                              r"restarting it", text))
    if killed != 3 or live == 0 or restarts != 3:
        print(text)
        print("FAIL: expected 3 kills, live lines and 3 restart lines, saw %d, %d and %d"
              % (killed, live, restarts))
        return 1
    if mixed_lines(text):
        return 1
    print("ok: %d live-line draws, %d restart lines of the launcher, none on the same line"
          % (live, restarts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
