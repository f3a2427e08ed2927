"""`python -m geo inspect` on each file of round three, timed in a fresh process.

    python -m bench.inspect_cases [FOLDER] [--code CHECKOUT]

Writes the case files (tests/round3_files.py) into FOLDER (default: a temporary folder) and runs
`python -m geo inspect` from CHECKOUT (default: this checkout) on each; prints one line per
case: wall and CPU seconds, exit code, kind, feature count, the first name, or the error line.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(code: Path, path: Path) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds of the child, exit code, what was found or the error line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "geo", "inspect", str(path)], cwd=code, capture_output=True,
                          text=True, timeout=1200)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode:
        return took, cpu, proc.returncode, proc.stderr.strip().splitlines()[-1][:150] if proc.stderr.strip() else ""
    found = json.loads(proc.stdout)
    first = found["sample_rows"][0] if found["sample_rows"] else {}
    name = first.get("name") or first.get("track_id") or ""
    return took, cpu, 0, (f"{found['kind']} x{found['feature_count']} date={found.get('date_column')} "
                          f"name={name[:20]!r} warnings={len(found['warnings'])}")


def main(argv=None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    code = ROOT
    if "--code" in args:
        i = args.index("--code")
        code = Path(args[i + 1])
        del args[i:i + 2]
    folder = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="inspect-cases-"))
    sys.path.insert(0, str(ROOT / "tests"))
    import round3_files
    for case, path in round3_files.write_all(folder).items():
        took, cpu, rc, what = run(code, path)
        print(f"{case:<32} {took:6.2f} s wall {cpu:6.2f} s cpu  rc={rc}  {what}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
