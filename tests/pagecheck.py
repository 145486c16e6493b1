"""Open a page vaekit wrote (feedback, report, similarity) from ``file://`` in headless Chromium (Debian's package,
driven by Playwright), run axe-core on it (npm ``axe-core``, installed by ``make browser``) and take a screenshot.

``check_page(path, screenshot)`` returns axe's violations as dicts (id, impact, help, nodes: the first targets);
``serious(violations)`` keeps the serious and critical ones (WCAG 2.1 A and AA rules, and axe's best practices).
``shared_browser()`` is the one Playwright and Chromium of the test process: Playwright's sync API cannot be
started twice in one thread, so every browser test (the JupyterLab ones included) uses this one.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("VAEKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
AXE = REPO_ROOT / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def missing() -> list[str]:
    out = []
    if not CHROMIUM.exists():
        out.append(f"{CHROMIUM}: run `make browser` (Debian's chromium)")
    if not AXE.exists():
        out.append(f"{AXE}: run `make browser` (npm install axe-core)")
    return out


_SHARED: dict = {}


def shared_browser():
    """The process's one headless Chromium (started on first use; ``close_shared_browser`` ends it)."""
    if "browser" not in _SHARED:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _SHARED["playwright"] = playwright
        _SHARED["browser"] = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                        args=CHROMIUM_ARGS)
    return _SHARED["browser"]


def close_shared_browser() -> None:
    if "browser" in _SHARED:
        _SHARED.pop("browser").close()
        _SHARED.pop("playwright").stop()


def check_pages(pages: list[tuple[Path, Path | None]], width: int = 1100, phone: bool = False) -> list[list[dict]]:
    """axe-core's violations for each (page, screenshot path or None), in the shared Chromium."""
    problems = missing()
    if problems:
        raise RuntimeError("; ".join(problems))
    out = []
    viewport = {"width": 390, "height": 844} if phone else {"width": width, "height": 900}
    context = shared_browser().new_context(viewport=viewport, bypass_csp=True)  # CSP forbids scripts: axe is one
    try:
        for path, shot in pages:
            page = context.new_page()
            page.goto(Path(path).resolve().as_uri())
            page.wait_for_load_state("load")
            if shot is not None:
                Path(shot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shot), full_page=False)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "async tags => JSON.stringify(await axe.run(document, {runOnly: {type: 'tag', values: tags}}))",
                TAGS)
            violations = json.loads(result)["violations"]
            out.append([{"id": v["id"], "impact": v["impact"], "help": v["help"],
                         "nodes": [n["target"] for n in v["nodes"][:5]], "count": len(v["nodes"])}
                        for v in violations])
            page.close()
    finally:
        context.close()
    return out


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]
