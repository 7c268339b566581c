#!/usr/bin/env python3
"""Scheduling latency per goroutine kind, from a Go execution trace.

    go tool trace -d=parsed TRACE > trace.txt
    scripts/trace-sched-latency.py trace.txt

For every goroutine, the time from each Runnable transition to the next
Running one (how long it waited for a scheduler slot), grouped by the
innermost gatescreen function of the goroutine's first parking stack.
One line per group: total, count, p50, p99, max (ms) and waits over 1 ms.
Used for docs/bench/lanes.md; the trace comes from a binary built with
-tags profile (GATESCREEN_TRACE).
"""
import collections
import re
import sys

TRANSITION = re.compile(r'M=-?\d+ P=-?\d+ G=-?\d+ StateTransition Time=(\d+) GoID=(\d+) (\w+)->(\w+)')


def main(path):
    lines = open(path).read().splitlines()
    label, since = {}, {}
    waits = collections.defaultdict(list)
    for i, line in enumerate(lines):
        m = TRANSITION.match(line)
        if not m:
            continue
        t, gid, before, after = int(m[1]), m[2], m[3], m[4]
        if gid not in label and before == 'Running' and after in ('Waiting', 'Syscall'):
            frames = []
            for f in lines[i + 1:]:
                if f.startswith('Stack=') or not (f.startswith('\t') or f.startswith('TransitionStack')):
                    break
                if f.startswith('\t') and not f.startswith('\t\t'):
                    frames.append(f.strip().split(' @')[0])
            ours = [f for f in frames if 'gatescreen/' in f]
            if frames:
                label[gid] = (ours or frames)[-1].replace('github.com/gatescreen/gatescreen/', '')
        if after == 'Runnable':
            since[gid] = t
        elif before == 'Runnable' and after == 'Running' and gid in since:
            waits[gid].append(t - since.pop(gid))
    groups = collections.defaultdict(list)
    for gid, w in waits.items():
        groups[label.get(gid, '?')] += w
    rows = sorted(((sum(w), name, sorted(w)) for name, w in groups.items()), reverse=True)
    for total, name, w in rows[:15]:
        n = len(w)
        print('%8.1f ms total  n=%6d  p50 %.3f  p99 %.3f  max %.3f  >1ms %3d  %s' % (
            total / 1e6, n, w[n // 2] / 1e6, w[int(n * .99)] / 1e6, w[-1] / 1e6,
            sum(1 for x in w if x > 1e6), name))


if __name__ == '__main__':
    main(sys.argv[1])
