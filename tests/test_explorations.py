"""Every exploration on the website moves with no kernel, and shows what the notebook computes.

Each `explore(...)` of a chapter is drawn at build time as a player: one labelled range input per
slider and the picture they choose. In headless Chromium, each slider is moved with the arrow keys
through every value it offers: the picture must change, and its alt text and the slider's spoken value
must be what the chapter's own code returns for that value, recomputed here by running the chapter's
cells in a fresh Python (with matplotlib's Agg backend, no kernel).
"""
import json
import re
import subprocess
import sys
import textwrap

import pytest

from book_site import ROOT, SCREENSHOTS, pages
from test_site import Reader, browser, site  # noqa: F401  (the site's fixtures: one build, one browser)

CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_cells(page):
    """The code of each code cell of a chapter, without its metadata block."""
    cells = []
    for source in CELL.findall((ROOT / f"{page}.md").read_text()):
        if source.startswith("---\n"):
            source = source.split("\n---\n", 1)[1]
        cells.append("\n".join(line for line in source.splitlines() if not line.startswith(":tags:")))
    return cells


def explorations_of(page):
    return [i for i, cell in enumerate(code_cells(page)) if re.search(r"^explore\(", cell, re.MULTILINE)]


CHAPTERS = [page for page in pages() if (ROOT / f"{page}.md").is_file() and explorations_of(page)]

# Run in a fresh Python from the book's folder, as the build runs a chapter: the chapter's cells up to
# each exploration, then the exploration with its pictures left undrawn (only their words are compared).
RECOMPUTE = textwrap.dedent("""
    import json, sys
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import miniflow.draw
    miniflow.draw._png = lambda fig: ""
    cells, wanted = json.loads(sys.stdin.read())
    namespace, found = {}, []
    for i, cell in enumerate(cells):
        if i in wanted:
            cell = cell.replace("\\nexplore(", "\\n_exploration = explore(", 1)
            if cell.startswith("explore("):
                cell = "_exploration = " + cell
        exec(compile(cell, f"cell {i}", "exec"), namespace)
        plt.close("all")
        if i in wanted:
            e = namespace.pop("_exploration")
            found.append({"labels": [s.description for s in e.sliders.values()],
                          "readouts": [[miniflow.draw._readout(e.sliders[n], v) for v in e.values[n]]
                                       for n in e.values],
                          "alts": {",".join(map(str, key)): alt for key, (_, alt) in e.frames.items()}})
        if len(found) == len(wanted):
            break
    print(json.dumps(found))
""")


def recompute(page):
    cells = code_cells(page)
    result = subprocess.run([sys.executable, "-c", RECOMPUTE], input=json.dumps([cells, explorations_of(page)]),
                            cwd=ROOT / "book", capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{page}'s cells failed outside the build:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.splitlines()[-1])


STATE = """(root) => ({
    src: root.querySelector('img').src, alt: root.querySelector('img').alt,
    values: [...root.querySelectorAll('input[type=range]')].map(i => i.value),
    spoken: [...root.querySelectorAll('input[type=range]')].map(i => i.getAttribute('aria-valuetext')),
    shown: [...root.querySelectorAll('input[type=range]')].map(i => i.parentElement.querySelector('output').textContent),
})"""


def test_every_page_with_an_exploration_has_its_player(browser, site):
    """Every chapter that calls `explore` shows as many players, and no page shows a frozen widget."""
    reader = Reader(browser, site, "light")
    try:
        for page in pages():
            reader.open(f"{page}.html")
            players = reader.page.locator(".miniflow-explore").count()
            expected = len(explorations_of(page)) if (ROOT / f"{page}.md").is_file() else 0
            assert players == expected, f"{page}: {players} players for {expected} explorations"
            frozen = reader.page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
            assert frozen == 0, f"{page}: {frozen} widgets that cannot move without a kernel"
    finally:
        reader.close()


@pytest.mark.parametrize("page", CHAPTERS)
def test_exploration_moves_and_shows_what_the_notebook_computes(browser, site, page):
    expected = recompute(page)
    from playwright.sync_api import expect
    reader = Reader(browser, site, "light")
    try:
        reader.open(f"{page}.html")
        players = reader.page.locator(".miniflow-explore")
        assert players.count() == len(expected)
        for number, want in enumerate(expected):
            player = players.nth(number)
            player.scroll_into_view_if_needed()
            state = lambda: player.evaluate(STATE)           # noqa: E731
            for slider, label in enumerate(want["labels"]):     # what a screen reader announces
                expect(player.locator("input[type=range]").nth(slider)).to_have_accessible_name(label)
            shot = SCREENSHOTS / f"explore-{page.replace('/', '_')}-{number}"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            player.screenshot(path=f"{shot}-before.png")
            for slider, readouts in enumerate(want["readouts"]):
                handle = player.locator("input[type=range]").nth(slider)
                handle.focus()
                handle.press("Home")
                seen = set()
                for index in range(len(readouts)):
                    if index:
                        before = state()
                        handle.press("ArrowRight")
                        now = state()
                        assert now["src"] != before["src"], f"{page}: the picture did not change at {now['values']}"
                    now = state()
                    assert now["values"][slider] == str(index)
                    key = ",".join(now["values"])
                    assert now["alt"] == want["alts"][key], f"{page}, sliders at {key}"
                    assert now["spoken"][slider] == now["shown"][slider] == readouts[index]
                    seen.add(now["alt"])
                assert len(seen) == len(readouts), f"{page}: slider {slider} shows {len(seen)} different pictures"
            player.screenshot(path=f"{shot}-after.png")
        assert not reader.outside and not reader.errors, reader.outside + reader.errors
    finally:
        reader.close()
