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
