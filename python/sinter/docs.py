"""Writing measured results into the docs: the text between two HTML comment
markers (`<!-- NAME:begin -->` and `<!-- NAME:end -->`) is replaced."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def replace_section(doc, name, text):
    """Replaces the `name` section of docs/`doc` with `text`."""
    path = os.path.join(ROOT, "docs", doc)
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    content = open(path).read()
    a, b = content.index(begin) + len(begin), content.index(end)
    with open(path, "w") as f:
        f.write(content[:a] + "\n" + text.rstrip("\n") + "\n" + content[b:])


def write_results(path, results, text, section=None):
    """Writes `results` as JSON to `path`, prints `text` and, when `section`
    is given, puts `text` into that section of docs/compression.md."""
    import json
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(text)
    if section:
        replace_section("compression.md", section, text)


def publish(results, stem, chart, table, section, work=None):
    """Writes `stem`.json and `stem`_kjv.png (by `chart(results, path)`) to
    docs/ — or only to `work` when given — prints `table(results)` and, for
    docs/, puts it in compression.md's `section`. Returns the table."""
    import json
    out_dir = work or os.path.join(ROOT, "docs")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{stem}.json"), "w") as f:
        json.dump(results, f, indent=1)
    chart(results, os.path.join(out_dir, f"{stem}_kjv.png"))
    text = table(results)
    print(text)
    if not work:
        replace_section("compression.md", section, text)
    return text


def save_panels(results, path, draw, width=5.0):
    """One chart panel per result side by side: draw(ax, result) fills each."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(results), figsize=(width * len(results), 4), squeeze=False)
    for ax, r in zip(axes[0], results):
        draw(ax, r)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
