"""autograder.offline_math: feedback pages whose math renders with no network (LaTeX pre-rendered to MathML).

The page is made the way ``nbgrader generate_feedback`` makes it (GenerateFeedback with
``exporter_class = OfflineMathHTMLExporter``, nbgrader's ``feedback`` template), then opened from ``file://`` in
headless Chromium with every host name unresolvable; the screenshot goes to test-output/offline_math.png.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from autograder.offline_math import (LatexOutputsToMathML, OfflineMathHTMLExporter, markdown_to_html, styled_char,
                                     tex_to_mathml)

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO_ROOT / "test-output" / "offline_math.png"
CHROMIUM = Path(os.environ.get("VAEKIT_CHROMIUM", "/usr/bin/chromium"))
CONFIG_LINE = 'c.GenerateFeedback.exporter_class = "autograder.offline_math.OfflineMathHTMLExporter"'

INLINE = r"$z \sim \mathcal{N}(0, I)$"
DISPLAY = r"$$KL = -\frac{1}{2}\sum_{j=1}^{d}\left(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\right)$$"


def small_notebook():
    nb = new_notebook(cells=[
        new_markdown_cell("# Retroalimentación\n\nEl prior es " + INLINE + ", y el término KL de cada ejemplo es\n\n"
                          + DISPLAY + "\n\nUna variable de entorno en código no es fórmula: `$HOME`."),
        new_markdown_cell(r"## Muestras de $\mathcal{N}(0, I)$" "\n\n" r"Muestras $x^{(k)} = \text{decoder}\big(z^{(k)}\big)$ con $\mathbb{E}_q[z_j\mid x]$ "
                          r"y $q_\phi(z\mid x) = \mathcal{N}(\mu, \operatorname{diag}(\sigma^2))$."),
        new_code_cell('precio = "$5"  # $x$ en un comentario', execution_count=1, outputs=[
            new_output("display_data", data={"text/latex": r"$$\mathcal{L} = \beta\, D_{KL}$$",
                                             "text/plain": "<IPython.core.display.Math object>"})]),
    ])
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def feedback_html(nb) -> str:
    """The page nbgrader's GenerateFeedback would write with the config line (same exporter, same template)."""
    from nbgrader.converters import GenerateFeedback

    config = Config()
    config.GenerateFeedback.exporter_class = "autograder.offline_math.OfflineMathHTMLExporter"
    converter = GenerateFeedback(config=config)
    assert converter.exporter_class is OfflineMathHTMLExporter
    exporter = converter.exporter_class(parent=converter, config=converter.config)  # as nbgrader's start() does
    assert exporter.template_name == "feedback"
    resources = {"nbgrader": {"notebook": "vae_clase", "score": 3.0, "max_score": 4.0, "late_penalty": 0}}
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    return page


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    page = re.sub(r"<annotation\b.*?</annotation>", "", page, flags=re.S)  # the TeX source kept for copy-paste
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.fixture(scope="module")
def page() -> str:
    return feedback_html(small_notebook())


def test_config_line_is_the_documented_one():
    import autograder.offline_math as m

    assert CONFIG_LINE in m.__doc__


def test_feedback_page_loads_no_math_script(page):
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert not [s for s in scripts if re.search(r"src\s*=\s*[\"']?(https?:)?//", s)], scripts
    assert "mathjax" not in " ".join(scripts).lower()
    assert "cdnjs" not in page and "MathJax.Hub" not in page
    assert "pre-rendered as MathML" in page  # our mathjax() macro replaced the template's


def test_feedback_page_has_mathml_not_raw_tex(page):
    assert page.count("<math ") == 7  # 2 + 4 in markdown (one in a heading), 1 text/latex output
    assert "ns0:" not in page and "<math xmlns" not in page  # a heading's anchor re-serialises it: no namespace
    assert len(re.findall(r'<math\b[^>]*display="block"', page)) == 2
    text = visible_text(page)
    assert "$" not in text.replace("$HOME", "").replace('"$5"', "").replace("$x$ en un comentario", "")
    assert r"\mathcal" not in text and r"\frac" not in text
    assert "$HOME" in text  # code span untouched
    assert "\U0001D4A9" in page  # \mathcal{N} as the Unicode script N
    assert "<mfrac>" in page and "<msubsup>" in page and "<munderover>" in page  # fraction, σ_j^2, Σ limits
    assert r'<annotation encoding="application/x-tex">\mathcal{L} = \beta\, D_{KL}</annotation>' in page
    assert "tex-fallback" not in page.split("</style>")[-1]


def test_plain_html_exporter_would_need_the_cdn():
    """The problem this module solves: nbconvert's own page leaves $…$ for MathJax, loaded from a CDN."""
    from nbconvert.exporters import HTMLExporter

    plain, _ = HTMLExporter().from_notebook_node(small_notebook())
    assert r"$z \sim \mathcal{N}(0, I)$" in plain and "cdnjs.cloudflare.com/ajax/libs/mathjax" in plain


def test_tex_to_mathml_helpers():
    assert styled_char("N", "script") == "\U0001D4A9"
    assert styled_char("R", "double-struck") == "\u211D" and styled_char("L", "script") == "\u2112"
    assert styled_char("\u03bc", "bold-italic") == "\U0001D741"
    assert styled_char("?", "script") is None
    assert "<mo>&#x0223C;</mo>" in tex_to_mathml(r"z \sim p")  # not latex2mathml's ASCII "~" identifier
    assert "<mi>arg</mi>" in tex_to_mathml(r"\arg\max_z f(z)")
    bad = tex_to_mathml(r"\frac{1}{")
    assert bad == r'<code class="tex-fallback">\frac{1}{</code>'
    assert markdown_to_html("`$a$` y $b$").count("<math") == 1
    underbrace = r"\underbrace{\sum_{i=1}^{B} x_i}_{\text{r}}"  # latex2mathml: msubsup; display limits go under/over
    assert "<munderover><mo>\u2211</mo>" in tex_to_mathml(underbrace, display=True)
    assert "<msubsup><mo>&#x02211;</mo>" in tex_to_mathml(r"\sum_{i=1}^{B} x_i", display=False)


def test_latex_output_gets_an_html_twin():
    nb = small_notebook()
    out = nb.cells[2].outputs[0]
    LatexOutputsToMathML().preprocess(nb, {})
    assert out.data["text/html"].startswith('<div class="offline-math"><math') and 'display="block"' in out.data["text/html"]


def test_plain_nbconvert_can_use_the_exporter(tmp_path):
    """``jupyter nbconvert --to autograder.offline_math.OfflineMathHTMLExporter`` (the lab template)."""
    path = tmp_path / "nb.ipynb"
    nbformat.write(small_notebook(), str(path))
    exporter = OfflineMathHTMLExporter()
    page, _ = exporter.from_filename(str(path))
    assert page.count("<math ") == 7 and "mathjax" not in page.lower().replace("no mathjax", "")


def _nbgrader_metadata(grade_id, **flags):
    return {"nbgrader": {"grade": False, "solution": False, "locked": False, "grade_id": grade_id,
                         "schema_version": 3, **flags}}


@pytest.mark.slow
def test_nbgrader_generate_feedback_with_the_config_line(tmp_path):
    """A one-question course whose nbgrader_config.py is the repo's plus CONFIG_LINE: plain ``nbgrader
    generate_feedback`` (with vaekit's preprocessor override, as autograder.feedback runs it) writes MathML pages."""
    import sys

    root = tmp_path / "curso"
    (root / "source" / "mate").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((REPO_ROOT / "nbgrader_config.py").read_text() + "\n" + CONFIG_LINE + "\n")
    nb = new_notebook(cells=[
        new_markdown_cell("El prior es " + INLINE + " y\n\n" + DISPLAY),
        new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", metadata=_nbgrader_metadata("resp", solution=True)),
        new_code_cell("assert x == 1, 'x debe valer 1'",
                      metadata=_nbgrader_metadata("prueba", grade=True, locked=True, points=1)),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(root / "source" / "mate" / "mate.ipynb"))
    env = dict(os.environ, VAEKIT_COURSE_ROOT=str(root))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # nbgrader calls alembic

    def nbgrader(*args):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env, text=True,
                              capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    nbgrader("generate_assignment", "mate", "--force")
    student = nbformat.read(str(root / "release" / "mate" / "mate.ipynb"), as_version=4)
    student.cells[1].source = "x = 1"
    (root / "submitted" / "ana" / "mate").mkdir(parents=True)
    nbformat.write(student, str(root / "submitted" / "ana" / "mate" / "mate.ipynb"))
    nbgrader("autograde", "mate", "--create")
    nbgrader("generate_feedback", "mate", "--force")
    page = (root / "feedback" / "ana" / "mate" / "mate.html").read_text(encoding="utf-8")
    assert "Score: 1.0 / 1.0" in page
    assert re.findall(r"<math\b[^>]*>", page) == ['<math display="inline">', '<math display="block">']
    assert not re.findall(r"<script\b[^>]*src", page) and "cdnjs" not in page
    assert r"\mathcal" not in visible_text(page)


@pytest.mark.browser
def test_chromium_typesets_the_math_offline(tmp_path, page):
    if not CHROMIUM.exists():
        if os.environ.get("VAEKIT_SKIP_BROWSER") == "1":
            pytest.skip("VAEKIT_SKIP_BROWSER=1")
        pytest.fail(f"{CHROMIUM} missing: run `make browser` (apt-get install chromium)", pytrace=False)
    html_path = tmp_path / "vae_clase.html"
    html_path.write_text(page, encoding="utf-8")
    # A probe (only in this copy of the page) measures the MathML layout: a fraction's numerator above its
    # denominator, a display formula on its own line, a sub/superscript shifted, and writes it into the DOM.
    probe = """<script>
    window.addEventListener('load', () => {
      const r = e => e.getBoundingClientRect();
      const frac = document.querySelector('math[display="block"] mfrac');
      const sup = document.querySelector('msubsup');
      const maths = [...document.querySelectorAll('math')];
      const out = {
        n_math: maths.length,
        all_sized: maths.every(m => r(m).width > 5 && r(m).height > 5),
        frac_stacked: r(frac.children[0]).bottom <= r(frac.children[1]).top + 1,
        frac_centered: Math.abs((r(frac.children[0]).left + r(frac.children[0]).right)
                                - (r(frac.children[1]).left + r(frac.children[1]).right)) < 4,
        block_own_line: r(document.querySelector('math[display="block"]')).width > 200,
        sup_raised: r(sup.children[2]).bottom < r(sup.children[1]).top + 2,
        math_display: getComputedStyle(maths[0]).display,
      };
      const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    });
    </script>"""
    probe_path = tmp_path / "probe.html"
    # The page forbids every script (its Content-Security-Policy); the probe's copy alone drops that meta tag.
    csp = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>', page)
    assert csp and "default-src &#x27;none&#x27;" in csp.group(0)
    probe_page = page.replace(csp.group(0), "").replace("</body>", probe + "</body>")
    probe_path.write_text(probe_page, encoding="utf-8")
    args = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: every host name fails to resolve
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*args, "--dump-dom", probe_path.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout)
    assert found, dom.stderr[-2000:]
    layout = json.loads(html.unescape(found.group(1)))
    assert layout == {"n_math": 7, "all_sized": True, "frac_stacked": True, "frac_centered": True,
                      "block_own_line": True, "sup_raised": True, "math_display": "math"}, layout

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shot = tmp_path / "offline_math.png"
    subprocess.run([*args, f"--screenshot={shot}", "--window-size=900,600", "--hide-scrollbars",
                    html_path.as_uri()], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert shot.exists() and shot.stat().st_size > 10_000
    shutil.copy(shot, SCREENSHOT)
