"""Cost and counts of the face deployment's three passes on every fixture image (no Serve).

    python benchmarks/face_scan.py [--repeat 5]

fast: HOG at 640 px; fine: HOG at twice that; deep: fine + MMOD on doubtful candidates and, when HOG
found at most one face, MMOD over the frame at 480 px. Prints the median time per pass and whether
the count matches the fixtures' MANIFEST.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from integrity.vision.face import FaceAnalyzer, FaceConfig
from serve_app.settings import REPO_ROOT, Settings

FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
EXPECTED = {
    "A01": (1,),
    "A02": (1,),
    "A03": (2,),
    "A04": (4, 5),
    "A05": (1,),
    "A06": (0,),
    "A07": (0,),
    "A08": (0,),
    "A09": (2,),
    "A10": (0,),
    "A11": (1,),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "configs" / "face.yaml")
    options = parser.parse_args()

    analyzer = FaceAnalyzer(Settings().face_models_dir, FaceConfig.load(options.config))
    analyzer.load()
    right = dict.fromkeys(("fast", "fine", "deep"), 0)
    columns = "  ".join(f"{mode + ' ms':>8} {'n':>2}" for mode in ("fast", "fine", "deep"))
    print(f"{'image':40} {'size':>10}  {columns}")
    for path in sorted(FIXTURES.glob("A[0-9][0-9]_*")):
        data = path.read_bytes()
        expected = EXPECTED[path.name[:3]]
        cells = []
        size = ""
        for mode in ("fast", "fine", "deep"):
            times, count = [], -1
            for _ in range(options.repeat):
                started = time.perf_counter()
                result = analyzer.analyze(data, deep=mode == "deep", fine=mode == "fine")
                times.append((time.perf_counter() - started) * 1000)
                count = result.count
                size = f"{result.image_width}x{result.image_height}"
            ok = count in expected
            right[mode] += ok
            cells.append(f"{statistics.median(times):8.1f} {count:>2}{'' if ok else '!'}")
        print(f"{path.name:40} {size:>10}  " + "  ".join(cells))
    total = len(EXPECTED)
    print("counts matching the MANIFEST: " + ", ".join(f"{mode} {n}/{total}" for mode, n in right.items()))


if __name__ == "__main__":
    main()
