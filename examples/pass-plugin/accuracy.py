"""The example plugin's accuracy figure: bits per byte of the reference
models with their FFN projections pruned 2:4 by sinter-prune-2of4, Wanda-
and magnitude-scored, and with every linear inside the decoder blocks
pruned (targets=linears), against the uncompressed model, each measured by
sinter-compile --eval-text on the first 100,000 bytes of kjv-heldout after
calibration on 65,536 bytes of kjv-train. Uses the installed SDK that
`ctest -R sdk-pass-plugin` leaves in build/test/sdk (or --prefix/--plugin).

    PYTHONPATH=python /usr/bin/python3 examples/pass-plugin/accuracy.py [--docs]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
from sinter import corpora  # noqa: E402
from sinter.docs import replace_section  # noqa: E402
from sinter.measure import reference_model  # noqa: E402

SDK = os.path.join(ROOT, "build", "test", "sdk")
# Column: --compress options. Attention linears have no input statistics
# in the profile, so targets=linears scores them by magnitude.
VARIANTS = {"wanda": "score=wanda", "magnitude": "score=magnitude", "linears": "targets=linears,score=wanda"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefix", default=os.path.join(SDK, "prefix"), help="the installed SDK")
    ap.add_argument("--plugin", default=os.path.join(SDK, "build", "prune2of4.so"))
    ap.add_argument("--models", default="kjv-gpt,kjv-opt,kjv-llama")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "prune-2of4"))
    ap.add_argument("--docs", action="store_true", help="write the table into docs/writing-a-pass.md")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    calib, heldout = (os.path.join(args.work, f) for f in ("calibration.txt", "heldout.txt"))
    open(calib, "wb").write(corpora.split("kjv-train")[:65536])
    open(heldout, "wb").write(corpora.split("kjv-heldout")[:100000])
    rows = []
    for name in args.models.split(","):
        _, onnx_path, context = reference_model(name)
        row = {"model": name}
        for key, options in VARIANTS.items():
            report = os.path.join(args.work, f"{name}_{key}.json")
            cmd = [os.path.join(args.prefix, "bin", "sinter-compile"), onnx_path, "-o",
                   os.path.join(args.work, f"{name}_{key}.so"), f"--load-pass-plugin={args.plugin}",
                   f"--calibration={calib}", f"--calibration-window={context}",
                   f"--compress=prune-2of4:{options}", f"--eval-text={heldout}", f"--report={report}"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(r.stderr)
            accuracy = json.load(open(report))["accuracy"]
            row["dense"] = accuracy["uncompressed_bits_per_byte"]
            row[key] = accuracy["bits_per_byte"]
            print(f"{name} {key}: {row[key]:.4f} bits/byte (dense {row['dense']:.4f})", flush=True)
        rows.append(row)
    lines = ["| model | dense | FFNs 2:4, Wanda | FFNs 2:4, magnitude | all block linears 2:4 |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['dense']:.4f} | " + " | ".join(
            f"{r[k]:.4f} ({r[k] / r['dense'] - 1:+.1%})" for k in VARIANTS) + " |")
    text = "\n".join(lines)
    print(text)
    if args.docs:
        replace_section("writing-a-pass.md", "prune-2of4-table", text)


if __name__ == "__main__":
    main()
