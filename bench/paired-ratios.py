#!/usr/bin/env python3
# Paired ratios from bench/compare.sh output files: for every server, its rate
# in each round divided by the rate of the best stock server (by median) in
# the SAME round, and the median of those.  Rounds alternate servers, so a
# paired ratio cancels most of the host's drift between rounds.  "app": the
# same against the best stock server of the same program (nginx, haproxy).
#   bench/paired-ratios.py FILE...
import sys,re,statistics
for fn in sys.argv[1:]:
    rows={}
    order=[]
    best=None
    appbest=[]
    for l in open(fn):
        m=re.match(r'^\s*(\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s+(?:[\d.]+x\s+)?(\d+)\s+(.*)$',l)
        if m:
            rows[m.group(1)]=[int(x) for x in m.group(8).split(', ')]
            order.append(m.group(1))
        m=re.search(r'best stock server, (\S+)\)',l)
        if m: best=m.group(1)
        m=re.search(r'of the same program:(.*)\)',l)
        if m: appbest=m.group(1).split()
    if not best: continue
    print(fn, 'best', best)
    prog=lambda n: 'nginx' if 'nginx' in n else 'haproxy' if 'haproxy' in n else n
    for n in order:
        r=[a/b for a,b in zip(rows[n],rows[best])]
        line='  %-50s paired ratio per round: %s  median %.2f' % (n, ', '.join('%.2f'%x for x in r), statistics.median(r))
        # against the best stock server of the same program (compare.sh's "app")
        same=[b for b in appbest if prog(b)==prog(n) and b in rows]
        if same:
            r=[a/b for a,b in zip(rows[n],rows[same[0]])]
            line+='  | app (%s) median %.2f' % (same[0], statistics.median(r))
        print(line)
