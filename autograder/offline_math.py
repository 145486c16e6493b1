r"""Math in HTML pages without a network: LaTeX pre-rendered to MathML when the page is made, no MathJax.

nbconvert's HTML pages (and nbgrader's feedback template) load MathJax from a CDN, so on a course server or a
student's laptop without internet the LaTeX of the markdown cells stays raw (``$\mathcal{N}(0, I)$``), and a
firewall that drops packets makes the page wait for that ``<script>`` before it shows. Here the math is turned into
MathML (`latex2mathml <https://pypi.org/project/latex2mathml/>`_, pure Python) while the HTML is written: browsers
render MathML themselves (Chromium ≥ 109, Firefox, Safari), from ``file://``, with no script at all.

``OfflineMathHTMLExporter`` is nbconvert's ``HTMLExporter`` with three changes:

* the math nbconvert's own math-aware markdown parser finds (``$…$``, ``$$…$$``, ``\begin{env}…\end{env}``, and
  ``\\(…\\)`` / ``\\[…\\]``; code spans and code blocks are left alone) becomes ``<math>``;
* ``text/latex`` outputs (``IPython.display.Math``) get a MathML ``text/html`` twin, which HTML pages prefer;
* the templates' ``mathjax()`` macro emits a small stylesheet instead of the CDN ``<script>`` (the ``feedback``,
  ``lab`` and ``classic`` templates all import it from ``mathjax.html.j2``).

nbgrader feedback uses it with one line in ``nbgrader_config.py``::

    c.GenerateFeedback.exporter_class = "autograder.offline_math.OfflineMathHTMLExporter"

(``HTMLExporter`` settings, e.g. nbgrader's ``template_name = "feedback"``, still apply to it; a
``--GenerateFeedback.preprocessors=…`` override does not touch it). Plain nbconvert::

    jupyter nbconvert --to autograder.offline_math.OfflineMathHTMLExporter nb.ipynb

Each formula keeps its TeX source as a MathML ``<annotation>`` (copy-paste, screen readers). A formula latex2mathml
cannot parse is shown as its TeX source in ``<code class="tex-fallback">`` (never as raw ``$…$``); an unknown
command shows as ``\name`` inside the formula (as MathJax does), with a warning in the log.
"""
from __future__ import annotations

import html
import logging
import re
from xml.etree import ElementTree

from jinja2 import DictLoader
from latex2mathml.converter import convert as _latex_to_mathml
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode, default

try:  # nbconvert >= 7.x; older releases call it ``contextfilter`` too
    from nbconvert.exporters.html import contextfilter
except ImportError:  # pragma: no cover
    from jinja2 import pass_context as contextfilter

log = logging.getLogger(__name__)

MATH_CSS = """\
math { font-family: "STIX Two Math", "Latin Modern Math", "Cambria Math", "TeX Gyre Termes Math",
       "DejaVu Math TeX Gyre", math; font-size: 1.1em; }
math[display="block"] { display: block math; margin: 0.7em 0; overflow-x: auto; overflow-y: hidden; }
code.tex-fallback { color: #a00; background: #fff3f3; }
"""

# The templates' ``{% from 'mathjax.html.j2' import mathjax %}`` resolves here first (extra_loaders win).
MATHJAX_REPLACEMENT = (
    '{%- macro mathjax(url="") -%}\n'
    "<!-- math pre-rendered as MathML by autograder.offline_math: no MathJax, no network -->\n"
    '<style type="text/css">\n' + MATH_CSS + "</style>\n"
    "{%- endmacro %}\n"
)

# MathML Core (Chromium) ignores mathvariant except "normal": a styled letter must be its Unicode math character.
# (capital A, small a, digit 0) code points per variant; holes filled from the Letterlike Symbols block.
_VARIANTS = {
    "bold": (0x1D400, 0x1D41A, 0x1D7CE),
    "italic": (0x1D434, 0x1D44E, None),
    "bold-italic": (0x1D468, 0x1D482, None),
    "script": (0x1D49C, 0x1D4B6, None),
    "bold-script": (0x1D4D0, 0x1D4EA, None),
    "fraktur": (0x1D504, 0x1D51E, None),
    "double-struck": (0x1D538, 0x1D552, 0x1D7D8),
    "bold-fraktur": (0x1D56C, 0x1D586, None),
    "sans-serif": (0x1D5A0, 0x1D5BA, 0x1D7E2),
    "bold-sans-serif": (0x1D5D4, 0x1D5EE, 0x1D7EC),
    "sans-serif-italic": (0x1D608, 0x1D622, None),
    "sans-serif-bold-italic": (0x1D63C, 0x1D656, None),
    "monospace": (0x1D670, 0x1D68A, 0x1D7F6),
}
_GREEK = {"bold": (0x1D6A8, 0x1D6C2), "italic": (0x1D6E2, 0x1D6FC), "bold-italic": (0x1D71C, 0x1D736)}
_HOLES = {
    ("italic", "h"): "\u210E",
    **{("script", k): v for k, v in zip("BEFHILMRego", "\u212C\u2130\u2131\u210B\u2110\u2112\u2133\u211B\u212F\u210A\u2134")},
    **{("fraktur", k): v for k, v in zip("CHIRZ", "\u212D\u210C\u2111\u211C\u2128")},
    **{("double-struck", k): v for k, v in zip("CHNPQRZ", "\u2102\u210D\u2115\u2119\u211A\u211D\u2124")},
}
_MI_VARIANT = re.compile(r'<(mi|mn) mathvariant="([a-z-]+)">([^<]+)</(?:mi|mn)>')

# latex2mathml quirks: operators it emits as identifiers (``\\sim`` as an ASCII "~"), function names it does not
# know (``<mi>\\arg</mi>``), a negative space MathML Core cannot express.
_FUNCTION_NAMES = ("arg|det|ker|dim|deg|hom|Pr|sup|inf|gcd|lg|ln|sinh|cosh|tanh|coth|sec|csc|cot|arcsin|arccos|arctan"
                   "|softmax|Var|Cov|tr|rank|diag")
_FIXES = [
    (re.compile(r"<mi>&#x0007E;</mi>"), "<mo>&#x0223C;</mo>"),
    (re.compile(r"<mi>(&#x000B1;|&#x02213;|&#x0007C;|&#x027E8;|&#x027E9;)</mi>"), r"<mo>\1</mo>"),
    (re.compile(r"<mi>\\(" + _FUNCTION_NAMES + r")</mi>"), r"<mi>\1</mi>"),
    (re.compile(r'<mspace width="negativethinmathspace" ?/>'), ""),
    # \\operatorname{diag} comes out as an operator (thick spaces around it): a function name like \\log instead
    (re.compile(r"<mo>(?!(?:lim|liminf|limsup|max|min|sup|inf|det|Pr|gcd|argmax|argmin)</mo>)([A-Za-z]{2,})</mo>"),
     r"<mi>\1</mi>"),
    # TeX's thin space after a function name (\\log x, \\log\\sigma^2), none before a parenthesis (\\log(x))
    (re.compile(r"<mi>([A-Za-z]{2,})</mi>(?!(?:<mrow>)?<mo[^>]*>(?:\(|\[|&#x00028;|&#x0005B;))"), r'<mi>\1</mi><mspace width="0.1667em"/>'),
]


def styled_char(char: str, variant: str) -> str | None:
    """``char`` in the Unicode math alphabet ``variant`` (``"script"``, ``"double-struck"``, …), or None."""
    if (variant, char) in _HOLES:
        return _HOLES[(variant, char)]
    capital, small, digit = _VARIANTS.get(variant, (None, None, None))
    if capital is None:
        return None
    if "A" <= char <= "Z":
        return chr(capital + ord(char) - ord("A"))
    if "a" <= char <= "z":
        return chr(small + ord(char) - ord("a"))
    if "0" <= char <= "9" and digit is not None:
        return chr(digit + ord(char) - ord("0"))
    if variant in _GREEK and ("\u0391" <= char <= "\u03A9" or "\u03B1" <= char <= "\u03C9"):
        upper, lower = _GREEK[variant]
        return chr(upper + ord(char) - 0x391) if char <= "\u03A9" else chr(lower + ord(char) - 0x3B1)
    return None


def _unicode_variants(mathml: str) -> str:
    def replace(m: re.Match) -> str:
        tag, variant, text = m.group(1), m.group(2), html.unescape(m.group(3))
        if variant == "normal":
            return m.group(0)
        styled = [styled_char(ch, variant) for ch in text]
        if any(s is None for s in styled):
            return m.group(0)
        return f"<{tag}>{html.escape(''.join(styled))}</{tag}>"

    return _MI_VARIANT.sub(replace, mathml)


_BIG_OPERATORS = {"\u2211", "\u220F", "\u2210", "\u22C2", "\u22C3", "\u2A00", "\u2A01", "\u2A02"}


def _display_limits(mathml: str) -> str:
    """latex2mathml writes ``\\sum_{i=1}^{B}`` inside ``\\underbrace`` (and similar groups) as ``msubsup``: in a display
    formula a big operator's limits go under and over it, as TeX (and MathJax) put them."""
    if "<msub" not in mathml:
        return mathml
    try:
        root = ElementTree.fromstring(mathml)
    except ElementTree.ParseError:  # pragma: no cover (latex2mathml writes well-formed XML)
        return mathml
    changed = False
    for element in root.iter():
        if element.tag in ("msub", "msubsup") and len(element) and element[0].tag == "mo" \
                and html.unescape(element[0].text or "") in _BIG_OPERATORS:
            element.tag = "munder" if element.tag == "msub" else "munderover"
            changed = True
    return ElementTree.tostring(root, encoding="unicode") if changed else mathml


def _fix_quirks(mathml: str) -> str:
    for pattern, replacement in _FIXES:
        mathml = pattern.sub(replacement, mathml)
    return mathml


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """One formula (without delimiters) as a ``<math>`` element; its TeX source kept as an annotation. A formula that
    cannot be converted comes back as ``<code class="tex-fallback">TeX</code>``."""
    tex = tex.strip()
    try:
        mathml = _latex_to_mathml(tex, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises its own exception types for malformed TeX
        log.warning("offline_math: no pude convertir %r a MathML (%s); se muestra el TeX", tex, exc)
        return f'<code class="tex-fallback">{html.escape(tex)}</code>'
    # No xmlns: HTML puts <math> in the MathML namespace by itself, and nbconvert's heading anchors re-serialise the
    # heading with ElementTree, which would turn a namespaced <math> into an unknown <ns0:math>.
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "").replace("\n", " ")
    mathml = _fix_quirks(_unicode_variants(mathml))
    if display:
        mathml = _display_limits(mathml)
    if re.search(r"<m[io]>\\[A-Za-z]+</m[io]>", mathml):
        log.warning("offline_math: comando desconocido en %r; se muestra tal cual", tex)
    start = mathml.index(">") + 1
    end = mathml.rindex("</math>")
    annotation = f'<annotation encoding="application/x-tex">{html.escape(tex, quote=False)}</annotation>'
    return f"{mathml[:start]}<semantics>{mathml[start:end]}{annotation}</semantics></math>"


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with the math it finds emitted as MathML instead of MathJax input."""

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, display=True)

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body, display=False)

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


def markdown_to_html(source: str) -> str:
    """Markdown (with math) to HTML, math as MathML: nbconvert's ``markdown2html_mistune`` with this renderer."""
    return MarkdownWithMath(renderer=MathMLRenderer(escape=False)).render(source)


_LATEX_DELIMITERS = [(r"$$", r"$$", True), (r"\[", r"\]", True), (r"$", r"$", False), (r"\(", r"\)", False)]


def latex_output_to_mathml(latex: str) -> str:
    """A ``text/latex`` output (``$…$``, ``$$…$$``, ``\\[…\\]``, ``\\begin{…}``, or bare TeX) as HTML."""
    text = latex.strip()
    for begin, end, display in _LATEX_DELIMITERS:
        if text.startswith(begin) and text.endswith(end) and len(text) > len(begin) + len(end):
            return tex_to_mathml(text[len(begin):-len(end)], display=display)
    return tex_to_mathml(text, display=True)


class LatexOutputsToMathML(Preprocessor):
    """Give every ``text/latex`` output without an HTML form a ``text/html`` MathML one (HTML pages show text/html
    before text/latex, which would otherwise need MathJax)."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if "text/latex" in data and "text/html" not in data:
                latex = data["text/latex"]
                latex = "".join(latex) if isinstance(latex, list) else latex
                data["text/html"] = f'<div class="offline-math">{latex_output_to_mathml(latex)}</div>'
        return cell, resources


class OfflineMathHTMLExporter(HTMLExporter):
    """``HTMLExporter`` whose pages show their math without MathJax or any network access (see the module doc)."""

    export_from_notebook = "HTML (offline math)"

    @default("extra_loaders")
    def _default_extra_loaders(self):
        return [DictLoader({"mathjax.html.j2": MATHJAX_REPLACEMENT})]

    content_security_policy = Unicode(
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; base-uri 'none'; "
        "form-action 'none'",
        help="Content-Security-Policy of every page (a <meta> first in <head>): no script runs, nothing is "
             "fetched; the page needs none (math is MathML, images are data: URLs)").tag(config=True)

    def __init__(self, config=None, **kw):
        super().__init__(config=config, **kw)
        self.register_preprocessor(LatexOutputsToMathML(parent=self), enabled=True)

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources, **kw)
        if self.content_security_policy:
            meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(self.content_security_policy)}">'
            output = re.sub(r"<head(\s[^>]*)?>", lambda m: m.group(0) + "\n" + meta, output, count=1)
        return output, resources

    @contextfilter
    def markdown2html(self, context, source):
        """Markdown to HTML with math as MathML (``HTMLExporter.markdown2html`` with ``MathMLRenderer``)."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)
