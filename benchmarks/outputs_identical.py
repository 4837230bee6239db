"""Compare the tables of two runs of the pipeline (before / after a change) to the last digit.

    python benchmarks/outputs_identical.py BEFORE_RESULTS AFTER_RESULTS

Both folders are results folders of the same presets (e.g. the tiny figures pipeline of
tests/reproduce/tiny_figures.py, or `snakemake --config preset=demo results=...`), one made by
each version of the code. Everything that is a table or a summary (CSV, JSON, Markdown, txt) is
compared after removing what differs by nature between two runs: wall times, dates, the code
version, and the root folder of the results. Paths of the layout before every run was one kind
(figure results RUN/result.h5, logs under logs/) are compared as the layout after (RUN/ENGINE.h5,
RUN/ENGINE.log). Exit status 1 when a file differs or is missing."""
import csv, io, json, re, sys
from pathlib import Path

VOLATILE = re.compile(r"wall|elapsed|seconds|date|commit|version|created|host|_s$")

def norm_text(t, root):
    t = t.replace(str(root), "ROOT")
    t = re.sub(r"/(classical|quantum|noise)/([^/\"',\s]+)/result\.h5", r"/\1/\2/\1.h5", t)
    t = re.sub(r"\blogs/(classical|quantum)/([^\"',\s]+)\.log", r"\1/\2/\1.log", t)  # logs beside the results
    t = re.sub(r"commit `[0-9a-f]+[^`]*`, written [0-9-]+ [0-9:]+ UTC", "commit `C`, written D", t)
    return t

def scrub(obj):
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items() if not VOLATILE.search(str(k))}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj

def load(path, root):
    t = norm_text(path.read_text(), root)
    if path.suffix == ".json":
        return scrub(json.loads(t))
    if path.suffix == ".csv":
        rows = list(csv.DictReader(io.StringIO(t)))
        return [scrub(r) for r in rows]
    if path.suffix == ".md":
        # tables with a wall_s column: drop that column
        out = []
        cols = None
        for line in t.splitlines():
            if line.startswith("|"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                if cols is None or not set(c.replace("-", "").replace(":", "") for c in cells) - {""} and False:
                    pass
                if any(VOLATILE.search(c) for c in cells) and not any(ch.isdigit() for ch in "".join(cells)):
                    cols = [i for i, c in enumerate(cells) if VOLATILE.search(c)]
                if cols and len(cells) > max(cols):
                    cells = [c for i, c in enumerate(cells) if i not in cols]
                out.append("|".join(cells))
            else:
                cols = None
                out.append(line)
        return out
    return t.splitlines()

def main(before, after):
    before, after = Path(before), Path(after)
    files = sorted(p for p in before.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".md", ".txt")
                   and "/logs/" not in str(p) and ".snakemake" not in str(p))
    bad = 0
    for p in files:
        rel = p.relative_to(before)
        q = after / rel
        if not q.exists():
            print("MISSING after:", rel); bad += 1; continue
        a, b = load(p, before), load(q, after)
        if a != b:
            bad += 1
            print("DIFFERS:", rel)
            if isinstance(a, list) and isinstance(b, list):
                for x, y in zip(a, b):
                    if x != y:
                        print("   before:", str(x)[:300]); print("   after: ", str(y)[:300]); break
    print(f"{len(files)} files compared, {bad} differ")
    return 1 if bad else 0

if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
