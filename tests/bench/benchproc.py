"""Process helpers shared by the benchmark scripts: CPU time from /proc and
stopping what a benchmark started."""
import os
import subprocess


def cpu_seconds(pid):
    """User + system CPU seconds of a live process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_all(procs):
    """Terminates the processes, last started first; kills what does not
    stop within 10 s."""
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
