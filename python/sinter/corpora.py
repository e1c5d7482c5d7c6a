"""Text corpora from Debian packages, as bytes (bytes are tokens).

- kjv: the King James Bible (package bible-kjv), `bible -f "Gen1:1-Rev22:21"`,
  with the verse references ("Ge1:1 ") stripped: one verse per line. The
  first 90% of the bytes are for training (`kjv-train`), the last 10%
  (`kjv-heldout`) are never trained on.
- fortunes: every fortune file of the fortunes package (out-of-domain text),
  concatenated in sorted file order.
"""
import glob
import os
import re
import subprocess
from functools import lru_cache

HELDOUT_FRACTION = 0.10
FORTUNES_DIR = "/usr/share/games/fortunes"


@lru_cache(maxsize=None)
def kjv():
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], capture_output=True, check=True).stdout
    return re.sub(rb"(?m)^[0-9A-Za-z]+[0-9]+:[0-9]+ ", b"", out)


@lru_cache(maxsize=None)
def fortunes():
    parts = []
    for path in sorted(glob.glob(os.path.join(FORTUNES_DIR, "*"))):
        if os.path.isfile(path) and not path.endswith((".dat", ".u8")) and not os.path.islink(path):
            with open(path, "rb") as f:
                parts.append(f.read())
    return b"".join(parts)


def split(name):
    """Bytes of a named text: kjv-train, kjv-heldout, fortunes, or a path."""
    if name in ("kjv-train", "kjv-heldout"):
        text = kjv()
        cut = int(len(text) * (1 - HELDOUT_FRACTION))
        return text[:cut] if name == "kjv-train" else text[cut:]
    if name == "fortunes":
        return fortunes()
    with open(name, "rb") as f:
        return f.read()
