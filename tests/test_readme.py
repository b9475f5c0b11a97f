"""The README's example runs and prints what its comments say."""
import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_prints_its_comments():
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    expected = []
    for line in block.splitlines():
        comment = line.partition("#")[2].strip() if "#" in line else ""
        if line.startswith("print(") or (expected and line.lstrip().startswith("#")):
            expected.append(comment)
    code = "\n".join(line.split("#")[0].rstrip() for line in block.splitlines())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    printed = [line.strip() for line in out.getvalue().splitlines()]
    assert printed == expected
