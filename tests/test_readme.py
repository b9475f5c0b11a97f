"""The README's example runs and prints what its comments say."""
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_prints_its_comments():
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    expected = []
    for line in block.splitlines():
        comment = line.partition("#")[2].strip()
        if line.startswith("print(") or (expected and line.lstrip().startswith("#")):
            expected.append(comment)
    # A fresh process, as a reader would run it (default node names count from 1).
    out = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, check=True).stdout
    assert [line.strip() for line in out.splitlines()] == expected
