"""The exported script of the GAN sample, whole, against a copy a person has read.

Any change to generated code (the model, the groups, the embedded runtime, the command line)
shows up here and in review. When a change is meant, rewrite the copy and read its diff:

    .venv/bin/python tests/test_golden_export.py --update
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "gan_digits.graph.json"
GOLDEN = Path(__file__).parent / "golden" / "gan_digits_export.py"


def exported() -> str:
    sys.path.insert(0, str(ROOT))
    import composer

    return composer.export_python(composer.load(SAMPLE))


def test_exported_gan_script_is_the_reviewed_one():
    want, got = GOLDEN.read_text(encoding="utf-8"), exported()
    if got != want:
        diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "reviewed", "exported",
                                    lineterm="", n=1)
        shown = "\n".join(list(diff)[:60])
        raise AssertionError(f"the exported script changed; if that is meant, run "
                             f"`python tests/test_golden_export.py --update` and review:\n{shown}")


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    GOLDEN.write_text(exported(), encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
