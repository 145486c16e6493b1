"""What a student's notebook puts in front of a TA, made inert and bounded before the autograded notebook is saved.

Two nbgrader autograde preprocessors (``nbgrader_config.py``), after the judge and before ``SaveAutoGrades``, so that
the autograded notebook, which both vaekit's feedback pages and nbgrader's Formgrader render, holds nothing active:

``InertStudentContent`` (allow-list, ``nh3``):
  * ``text/html`` outputs and raw cells: sanitised (no scripts, event handlers, iframes, forms, styles; images
    only as ``data:image/png|jpeg|gif``; links only http(s), mailto and anchors);
  * markdown cells and ``text/markdown`` outputs: raw HTML in them sanitised the same way; markdown images other
    than cell attachments and links with other schemes are replaced by ``#``; MathJax commands that load or link
    (``\\href``, ``\\require``…) are disarmed;
  * ``image/png|jpeg|gif`` outputs and attachments kept only when they are valid base64 of that format;
    ``image/svg+xml``, ``application/javascript`` and every other MIME type removed (a Spanish note stays);
  * output metadata reduced to numeric ``width``/``height``; nbgrader's hidden-test delimiters in anything the
    student wrote or printed are broken so that feedback generation never mistakes them for the instructor's.
  Each change is recorded as a "revisar a mano" flag (``resources["vaekit"]["flags"]``).

``LimitOutputSize``: nbgrader's ``LimitOutput`` counts lines; this counts characters, per output and per
notebook, so a few 10 MB lines cannot make a 40 MB page.
"""
from __future__ import annotations

import base64
import binascii
import re

import nh3
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Bool, Integer

from autograder.gate import shown

SAFE_IMAGE_TYPES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff", "image/gif": b"GIF8"}
KEPT_TYPES = {"text/plain", "text/html", "text/markdown", "text/latex", *SAFE_IMAGE_TYPES}
HTML_TAGS = (nh3.ALLOWED_TAGS - {"area", "map"}) | {"math", "semantics", "annotation", "mrow", "mi", "mo", "mn",
                                                     "msup", "msub", "mfrac", "msqrt", "mtext", "mspace"}
HTML_ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "a": {"href", "title"},
                   "td": {"colspan", "rowspan", "align"}, "th": {"colspan", "rowspan", "align", "scope"},
                   "table": {"border"}, "*": {"title", "class"}}
DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$")
SAFE_LINK = re.compile(r"^(https?:|mailto:|#|[^:]*$)", re.IGNORECASE)
MD_TARGET = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]*)>?((?:\s+\"[^\"]*\")?)\s*\)")
MD_REFERENCE = re.compile(r"^(\s{0,3}\[[^\]]+\]:\s*)(\S+)", re.MULTILINE)
MATH_COMMANDS = re.compile(r"\\(href|url|require|class|cssId|style|unicode|html|data|toggle|mmlToken)\b")
HIDDEN_MARKERS = re.compile(r"(BEGIN|END) HIDDEN TESTS", re.IGNORECASE)
REMOVED = "[vaekit: contenido retirado por seguridad ({})]"


SAFE_STYLE = re.compile(r"^[\w\s:;,.%#()'\"+-]*$")
STYLE_TAGS = {"pre", "span", "div", "p", "td", "th", "table", "tr", "code", "b", "i", "u", "em", "strong"}


def _keep_url(tag: str, attr: str, value: str) -> str | None:
    value = value.strip()
    if attr == "style":  # colours and fonts (rich, pandas); nothing that loads: no url(), @import, escapes
        lowered = value.lower()
        ok = SAFE_STYLE.match(value) and not any(bad in lowered for bad in ("url(", "expression", "image", "@"))
        return value if ok else None
    if tag == "img" and attr == "src":
        return value if DATA_IMAGE.match(value) else None
    if attr == "href":
        return value if SAFE_LINK.match(value) and not value.lower().startswith(("data:", "javascript:")) else None
    return value


def _attributes() -> dict[str, set[str]]:
    out = {tag: set(names) for tag, names in HTML_ATTRIBUTES.items()}
    for tag in STYLE_TAGS:
        out.setdefault(tag, set()).add("style")
    return out


def clean_html(text: str) -> str:
    """``text`` as inert HTML (the allow-list above)."""
    return nh3.clean(text, tags=HTML_TAGS, attributes=_attributes(), attribute_filter=_keep_url,
                     url_schemes={"http", "https", "mailto", "data"}, link_rel="noopener noreferrer nofollow",
                     strip_comments=True)


def active_markup(text: str) -> bool:
    """Whether ``text`` holds anything the allow-list removes (a tag, an attribute or a URL): what gets flagged.
    (``clean_html`` may also re-serialise harmless markup; that alone is no reason to flag a student.)"""
    from html.parser import HTMLParser

    allowed = _attributes()
    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag not in HTML_TAGS:
                found.append(tag)
            for name, value in attrs:
                if name not in allowed.get(tag, set()) | allowed["*"] or _keep_url(tag, name, value or "") is None:
                    found.append(f"{tag} {name}")

        def handle_comment(self, data):
            found.append("comment")

    try:
        Parser().feed(text)
    except Exception:  # noqa: BLE001 (unparseable markup is suspect in itself)
        return True
    return bool(found)


def break_markers(text: str) -> str:
    """nbgrader's hidden-test delimiters, broken (a zero-width joiner) so that no tool takes them as real."""
    return HIDDEN_MARKERS.sub(lambda m: m.group(0).replace(" TESTS", "\u200dTESTS"), text)


def _markdown_target(match: re.Match) -> str:
    bang, text, url, title = match.groups()
    ok = url.startswith("attachment:") if bang else bool(SAFE_LINK.match(url)) and not url.lower().startswith("data:")
    return match.group(0) if ok else f"{bang}[{text}](#{title})"


def clean_markdown(text: str) -> str:
    """Markdown with no active content: raw HTML sanitised, unsafe images/links to '#', linking math disarmed."""
    out = MD_TARGET.sub(_markdown_target, text)
    out = MD_REFERENCE.sub(lambda m: m.group(1) + (m.group(2) if SAFE_LINK.match(m.group(2)) and not
                                                   m.group(2).lower().startswith("data:") else "#"), out)
    out = MATH_COMMANDS.sub(lambda m: m.group(1), out)
    if "<" in out:
        out = clean_html(out)
    return out


def valid_image(mime: str, data) -> bool:
    if not isinstance(data, str) or not re.fullmatch(r"[A-Za-z0-9+/=\s]*", data):
        return False
    try:
        raw = base64.b64decode(data[:64].strip() + "=" * (-len(data[:64].strip()) % 4), validate=False)
    except (binascii.Error, ValueError):
        return False
    return raw.startswith(SAFE_IMAGE_TYPES[mime])


class InertStudentContent(NbGraderPreprocessor):
    """Everything the student controls that becomes HTML, made inert (see the module docstring)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        self._changes: list[str] = []
        nb, resources = super().preprocess(nb, resources)
        for key in list(nb.metadata):  # only what nbformat and nbgrader need
            if key not in ("kernelspec", "language_info", "nbgrader"):
                del nb.metadata[key]
                self._changes.append(f"metadatos del cuaderno «{shown(str(key), 40)}»")
        if self._changes:
            flags = resources.setdefault("vaekit", {}).setdefault("flags", [])
            unique = sorted(set(self._changes))
            flags.append("contenido activo o no permitido retirado de lo que ve el profesor: "
                         + "; ".join(unique[:8]) + ("…" if len(unique) > 8 else ""))
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        where = f"celda {index}"
        if cell.cell_type == "markdown":
            cleaned = clean_markdown(cell.source)
            if cleaned != cell.source and (active_markup(cell.source) or MD_TARGET.sub(_markdown_target, cell.source)
                                           != cell.source or MATH_COMMANDS.search(cell.source)):
                self._changes.append(f"HTML o enlaces en el texto ({where})")
            cell.source = break_markers(cleaned)
            self._clean_attachments(cell, where)
        elif cell.cell_type == "raw":
            cleaned = clean_html(cell.source)
            if active_markup(cell.source):
                self._changes.append(f"celda sin formato con HTML ({where})")
            cell.source = cleaned
            self._clean_attachments(cell, where)
        elif cell.cell_type == "code":
            if not is_grade(cell):
                cell.source = break_markers(cell.source)
            cell.outputs = [self._clean_output(out, where) for out in cell.get("outputs", [])]
        return cell, resources

    def _clean_attachments(self, cell, where: str) -> None:
        for name, bundle in list(cell.get("attachments", {}).items()):
            kept = {m: d for m, d in bundle.items() if m in SAFE_IMAGE_TYPES and valid_image(m, d)}
            if len(kept) != len(bundle):
                self._changes.append(f"adjunto «{shown(name, 40)}» ({where})")
            if kept:
                cell.attachments[name] = kept
            else:
                del cell.attachments[name]

    def _clean_output(self, out, where: str):
        if out.get("output_type") == "stream":
            out["text"] = break_markers(out.get("text", ""))
            return out
        if out.get("output_type") == "error":
            out["evalue"] = break_markers(str(out.get("evalue", "")))
            out["traceback"] = [break_markers(str(line)) for line in out.get("traceback", [])]
            return out
        if "data" not in out:
            return out
        data = out["data"]
        for mime in list(data):
            value = data[mime]
            if mime not in KEPT_TYPES or (mime in SAFE_IMAGE_TYPES and not valid_image(mime, value)):
                del data[mime]
                self._changes.append(f"salida {shown(mime, 40)} ({where})")
                continue
            text = "".join(value) if isinstance(value, list) else str(value)
            if mime == "text/html":
                cleaned = clean_html(text)
            elif mime == "text/markdown":
                cleaned = clean_markdown(text)
            elif mime == "text/latex":
                cleaned = MATH_COMMANDS.sub(lambda m: m.group(1), text)
            elif mime == "text/plain":
                cleaned = text
            else:
                continue
            if cleaned != text and (mime != "text/html" or active_markup(text)) and mime != "text/plain":
                self._changes.append(f"salida {mime} ({where})")
            data[mime] = break_markers(cleaned)
        if not data:
            data["text/plain"] = REMOVED.format("tipo de salida no permitido")
        metadata = out.get("metadata", {})
        out["metadata"] = {m: {k: v for k, v in md.items() if k in ("width", "height") and isinstance(v, (int, float))}
                           for m, md in metadata.items() if m in SAFE_IMAGE_TYPES and isinstance(md, dict)}
        return out


class LimitOutputSize(NbGraderPreprocessor):
    """Cut outputs by characters (nbgrader's LimitOutput counts lines): per output and per notebook."""

    enabled = Bool(True).tag(config=True)
    max_output_chars = Integer(20_000, help="characters kept of one text output").tag(config=True)
    max_image_bytes = Integer(2_000_000, help="base64 characters kept of one image output").tag(config=True)
    max_notebook_chars = Integer(4_000_000, help="characters of all outputs of one notebook").tag(config=True)

    def preprocess(self, nb, resources):
        self._used = 0
        return super().preprocess(nb, resources)

    def _cut(self, text: str, limit: int) -> str:
        limit = max(0, min(limit, self.max_notebook_chars - self._used))
        if len(text) > limit:
            text = text[:limit] + f"\n… salida recortada por vaekit ({len(text):,} caracteres)".replace(",", ".")
        self._used += len(text)
        return text

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                out["text"] = self._cut(out.get("text", ""), self.max_output_chars)
            elif kind == "error":
                out["evalue"] = self._cut(str(out.get("evalue", "")), 2_000)
                out["traceback"] = [self._cut(str(line), self.max_output_chars) for line in out.get("traceback", [])]
            elif "data" in out:
                for mime in list(out["data"]):
                    value = out["data"][mime]
                    text = "".join(value) if isinstance(value, list) else str(value)
                    if mime in SAFE_IMAGE_TYPES:
                        if len(text) > min(self.max_image_bytes, self.max_notebook_chars - self._used):
                            del out["data"][mime]
                            out["data"].setdefault("text/plain", REMOVED.format("imagen demasiado grande"))
                        else:
                            self._used += len(text)
                    else:
                        out["data"][mime] = self._cut(text, self.max_output_chars)
        return cell, resources


__all__ = ["InertStudentContent", "LimitOutputSize", "clean_html", "clean_markdown", "break_markers"]
