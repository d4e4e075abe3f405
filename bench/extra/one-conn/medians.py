# Medians of bpftrace's lhist() maps in 0.25 µs buckets (the .bt scripts here); counters as they are.
import re
import sys

text = open(sys.argv[1]).read()
out = []
for block in re.split(r'\n(?=@)', text):
    m = re.match(r'@(\w+): (\d+)\s*$', block.strip())
    if m:
        out.append(f'{m.group(1)} {m.group(2)}')
        continue
    m = re.match(r'@(\w+):', block)
    if not m:
        continue
    rows = [(int(lo), int(n)) for lo, n in re.findall(r'\[(\d+), (?:\d+|\.\.\.)\)\s+(\d+)', block)]
    total = sum(n for _, n in rows)
    seen = 0
    for lo, n in sorted(rows):
        seen += n
        if 2 * seen >= total:
            out.append(f'{m.group(1)} {lo * 0.25 + 0.125:.2f} us (n {total})')
            break
print('  ' + '\n  '.join(out))
