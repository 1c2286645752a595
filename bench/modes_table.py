#!/usr/bin/python3
"""Mean and std over seeds of the 2-D mode benchmark from the result.json of each run (`ganpp bench modes` writes one
per run under OUT/<layout>/<loss>/seed<N>/), so that runs split over several processes (--first-seed) make one table.

    /usr/bin/python3 bench/modes_table.py OUT [OUT ...]
"""
import glob
import json
import os
import statistics
import sys

runs = {}
for root in sys.argv[1:]:
    for path in glob.glob(os.path.join(root, "*", "*", "seed*", "result.json")):
        r = json.load(open(path))
        runs.setdefault((r["layout"], r["loss"]), {})[r["seed"]] = r  # a seed run twice counts once
for (layout, loss), by_seed in sorted(runs.items()):
    rs = [by_seed[s] for s in sorted(by_seed)]
    def ms(key, scale=1.0):
        v = [scale * r[key] for r in rs]
        return statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0
    m, h, k, t = ms("modes"), ms("hq", 100), ms("reverse_kl"), ms("seconds")
    print(f"| {layout} | {loss} | {len(rs)} (seeds {min(by_seed)}-{max(by_seed)}) | {m[0]:.1f} ± {m[1]:.1f} of {rs[0]['num_modes']} "
          f"| {h[0]:.1f} ± {h[1]:.1f} | {k[0]:.4f} ± {k[1]:.4f} | {t[0]:.0f} |")
    print(f"|   | per seed | | {' '.join(str(r['modes']) for r in rs)} | {' '.join('%.1f' % (100 * r['hq']) for r in rs)} | | |")
