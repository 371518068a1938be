"""Read an SPL document into plain data: header fields and the section tree with text blocks.

Text comes out with correct spacing: inline markup (``<content>``, ``<sub>``,
``<sup>``, ``<linkHtml>``) never glues words together, ``<br/>`` becomes a line
break and other white space is folded. Tables are their own kind of block.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from admelabel.errors import SPLError
from admelabel.spl.safe_xml import HL7_NS, parse_spl_bytes

_V = f"{{{HL7_NS}}}"
_HSPACE = re.compile(r"[ \t\r\f\v\u00a0\u2002\u2003\u2009\u200b]+")
_EMPHASIS = ("bold", "italics", "italic", "underline", "emphasis")
_NO_SPACE_TAGS = {"sub", "sup"}
_BLOCK_TAGS = {"paragraph", "list", "table"}
_LINE_BREAK = "\u2028"
"""Marks a ``<br/>`` while text is collected; newlines in the XML source are only white space."""
_SOURCE_SPACE = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


def _raw(text: str | None) -> str:
    return (text or "").translate(_SOURCE_SPACE)


@dataclass
class Block:
    """A paragraph, list or table inside a section's ``<text>``.

    ``lead`` is the emphasised text (bold, italics or underline) that opens the
    block, if any; ``heading_only`` is true when the whole block is such emphasised
    text, i.e. the block is a heading written as a paragraph. ``lead_lines`` holds
    the lines of that lead when ``<br/>`` splits it (``Elimination`` / ``Metabolism``).
    """

    kind: str
    text: str
    lead: str = ""
    lead_style: str = ""
    heading_only: bool = False
    lead_lines: list[str] = field(default_factory=list)


@dataclass
class Section:
    """One ``<section>``: its LOINC code, title, id, text blocks and subsections.

    ``title``, ``blocks`` and ``children`` are computed on first access, because
    most callers read only a few sections (the PK section) out of a whole label.
    """

    code: str
    id: str
    element: etree._Element | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_element(cls, element: etree._Element) -> "Section":
        """Wrap a ``<section>`` element; title, text and subsections are read when first used."""
        code_element = element.find(f"{_V}code")
        id_element = element.find(f"{_V}id")
        return cls(
            code=(code_element.get("code") or "").strip() if code_element is not None else "",
            id=(id_element.get("root") or "") if id_element is not None else (element.get("ID") or ""),
            element=element,
        )

    @functools.cached_property
    def children(self) -> list["Section"]:
        if self.element is None:
            return []
        return [Section.from_element(child) for child in _CHILD_SECTIONS(self.element)]

    @property
    def title_element(self) -> etree._Element | None:
        return self.element.find(f"{_V}title") if self.element is not None else None

    @property
    def text_element(self) -> etree._Element | None:
        return self.element.find(f"{_V}text") if self.element is not None else None

    @functools.cached_property
    def title(self) -> str:
        if self.title_element is None:
            return ""
        return clean_text(_inline_text(self.title_element)).replace("\n", " ")

    @functools.cached_property
    def blocks(self) -> list[Block]:
        return _collect_blocks(self.text_element)

    def walk(self):
        """Yield this section and every section below it, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class SPLDocument:
    """Header fields and top-level sections of one SPL document."""

    source: str
    set_id: str
    version: str
    document_id: str
    effective_time: str
    title: str
    document_type: str
    root: etree._Element = field(repr=False, compare=False)
    drug_name: str = ""

    @functools.cached_property
    def sections(self) -> list[Section]:
        """The top-level sections of the structured body."""
        return [Section.from_element(element) for element in _TOP_SECTIONS(self.root)]

    def walk(self):
        """Yield every section in document order."""
        for section in self.sections:
            yield from section.walk()

    def outermost_sections(self, code: str) -> list[Section]:
        """Return the sections coded ``code`` that have no ancestor with the same code, in document order."""
        found = []
        for element in _SECTIONS_WITH_CODE(self.root, code=code):
            if not _ANCESTOR_WITH_CODE(element, code=code):
                found.append(Section.from_element(element))
        return found


def _local(tag: object) -> str:
    return tag.split("}", 1)[1] if isinstance(tag, str) and "}" in tag else str(tag)


def _style(element: etree._Element) -> str:
    return (element.get("styleCode") or "").lower()


def _is_emphasis(style: str) -> bool:
    return any(word in style for word in _EMPHASIS)


def _join(left: str, right: str, boundary_tag: str) -> str:
    """Concatenate two text pieces, adding a space where markup would otherwise glue words."""
    if not left or not right:
        return left + right
    if left[-1].isspace() or right[0].isspace() or boundary_tag in _NO_SPACE_TAGS:
        return left + right
    if right[0].isupper() and (left[-1].isalnum() or left[-1] in ".:;,)"):
        return left + " " + right
    if left[-1] in ".:;," and right[0].isalnum():
        return left + " " + right
    return left + right


def _inline_text(element: etree._Element) -> str:
    """Return the text of ``element`` and its inline children, with ``<br/>`` as a newline."""
    parts = _raw(element.text)
    for child in element:
        tag = _local(child.tag)
        if tag == "br":
            parts += _LINE_BREAK
        elif tag in ("footnote", "renderMultiMedia", "observationMedia", "caption"):
            pass
        elif tag in ("list", "table"):
            parts = _join(parts, _block_text(child, tag), "block") if parts.strip() else parts + _block_text(child, tag)
            parts += _LINE_BREAK
        else:
            parts = _join(parts, _inline_text(child), tag)
        if child.tail:
            parts = _join(parts, _raw(child.tail), tag)
    return parts


def clean_text(raw: str) -> str:
    """Fold white space within lines, keep single line breaks, drop empty lines."""
    lines = (_HSPACE.sub(" ", line).strip() for line in raw.replace(_LINE_BREAK, "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def _list_text(element: etree._Element) -> str:
    items = []
    for item in element.iter(f"{_V}item"):
        text = clean_text(_inline_text(item))
        if text:
            items.append(text)
    return "\n".join(items)


def _table_text(element: etree._Element) -> str:
    rows = []
    for row in element.iter(f"{_V}tr"):
        cells = [clean_text(_inline_text(cell)).replace("\n", " ") for cell in row if _local(cell.tag) in ("td", "th")]
        cells = [cell for cell in cells if cell]
        if cells:
            rows.append(" | ".join(cells))
    caption = element.find(f"{_V}caption")
    if caption is not None:
        caption_text = clean_text(_inline_text(caption))
        if caption_text:
            rows.insert(0, caption_text)
    return "\n".join(rows)


def _block_text(element: etree._Element, kind: str) -> str:
    if kind == "list":
        return _list_text(element)
    if kind == "table":
        return _table_text(element)
    return clean_text(_inline_text(element))


def _leading_emphasis(paragraph: etree._Element) -> tuple[list[str], str, bool]:
    """Return the emphasised lines that open ``paragraph``, their style, and whether nothing else follows."""
    if _raw(paragraph.text).strip():
        return [], "", False
    lines: list[str] = []
    style = ""
    current = ""
    # A list item's <caption> is its bullet label, not text.
    children = [child for child in paragraph if not (_local(child.tag) == "caption" and not (child.tail or "").strip())]
    position = 0
    while position < len(children):
        child = children[position]
        tag = _local(child.tag)
        if tag == "br":
            if current.strip():
                lines.append(current)
            current = ""
        elif tag == "content" and _is_emphasis(_style(child)) and not (child.tail or "").strip():
            style = style or _style(child)
            current = _join(current, _inline_text(child), "content")
        elif tag == "content" and _is_emphasis(_style(child)):
            style = style or _style(child)
            current = _join(current, _inline_text(child), "content")
            if (child.tail or "").lstrip().startswith(":"):
                # "<content>Aspirin</content>: text" puts the heading's colon outside the markup.
                current += ":"
            if current.strip():
                lines.append(current)
            return [clean_text(line).replace("\n", " ") for line in lines], style, False
        else:
            break
        if (child.tail or "").strip():
            break
        position += 1
    if current.strip():
        lines.append(current)
    rest_empty = position >= len(children)
    return [clean_text(line).replace("\n", " ") for line in lines if clean_text(line)], style, rest_empty


def _list_blocks(element: etree._Element) -> list[Block]:
    """Return one block for a list, or one per item when an item is only a heading.

    Some labels lay out a whole subsection as a list whose first item is the
    heading ("Metabolism") and whose next items are the paragraphs.
    """
    items = [item for item in element if _local(item.tag) == "item"]
    item_blocks = [block for block in (_make_block(item, "list") for item in items) if block is not None]
    if any(block.heading_only for block in item_blocks):
        return item_blocks
    whole = _make_block(element, "list")
    if whole is None:
        return []
    if item_blocks and item_blocks[0].lead:
        first = item_blocks[0]
        whole.lead, whole.lead_style, whole.lead_lines = first.lead, first.lead_style, first.lead_lines
    return [whole]


def _make_block(element: etree._Element, kind: str) -> Block | None:
    is_item = _local(element.tag) == "item"
    text = clean_text(_inline_text(element)) if is_item else _block_text(element, kind)
    if not text:
        return None
    block = Block(kind=kind, text=text)
    if kind == "paragraph" or is_item:
        lines, style, heading_only = _leading_emphasis(element)
        if lines:
            block.lead = " ".join(lines)
            block.lead_style = style
            block.lead_lines = lines
            block.heading_only = heading_only
    return block


def _collect_blocks(text_element: etree._Element | None) -> list[Block]:
    blocks: list[Block] = []
    if text_element is None:
        return blocks
    loose = clean_text(_raw(text_element.text))
    if loose:
        blocks.append(Block(kind="paragraph", text=loose))
    for child in text_element:
        tag = _local(child.tag)
        if tag == "list":
            blocks.extend(_list_blocks(child))
        elif tag in _BLOCK_TAGS:
            block = _make_block(child, tag)
            if block is not None:
                blocks.append(block)
        elif tag == "content":
            text = clean_text(_inline_text(child))
            if text:
                blocks.append(Block(kind="paragraph", text=text))
        tail = clean_text(_raw(child.tail))
        if tail:
            blocks.append(Block(kind="paragraph", text=tail))
    return blocks


_NAMESPACES = {"v": HL7_NS}
_TOP_SECTIONS = etree.XPath("v:component/v:structuredBody/v:component/v:section", namespaces=_NAMESPACES)
_CHILD_SECTIONS = etree.XPath("v:component/v:section", namespaces=_NAMESPACES)
_SECTIONS_WITH_CODE = etree.XPath("//v:section[v:code/@code = $code]", namespaces=_NAMESPACES)
_ANCESTOR_WITH_CODE = etree.XPath("ancestor::v:section[v:code/@code = $code]", namespaces=_NAMESPACES)
_FIRST_PRODUCT = etree.XPath(
    "(//v:manufacturedProduct/v:manufacturedProduct | //v:manufacturedProduct/v:manufacturedMedicine)[v:name][1]",
    namespaces=_NAMESPACES,
)
_GENERIC_NAMES = etree.XPath(".//v:genericMedicine/v:name", namespaces=_NAMESPACES)
MAX_GENERIC_NAMES = 6


def _attr(root: etree._Element, path: str, attribute: str) -> str:
    element = root.find(path)
    return (element.get(attribute) or "").strip() if element is not None else ""


def _drug_name(root: etree._Element) -> str:
    """Return ``Product (generic, generic)`` from the first product, as DailyMed lists labels."""
    products = _FIRST_PRODUCT(root)
    if not products:
        return ""
    product = products[0]
    name = clean_text(_inline_text(product.find(f"{_V}name"))).replace("\n", " ")
    generics: list[str] = []
    for generic in _GENERIC_NAMES(product):
        text = clean_text(_inline_text(generic)).replace("\n", " ").lower()
        if text and text not in generics:
            generics.append(text)
    if len(generics) > MAX_GENERIC_NAMES:
        generics = generics[:MAX_GENERIC_NAMES] + ["..."]
    if not name:
        return ", ".join(generics)
    return f"{name} ({', '.join(generics)})" if generics else name


def read_spl_root(root: etree._Element, source: str) -> SPLDocument:
    """Build an ``SPLDocument`` from a parsed ``<document>`` root."""
    set_id = _attr(root, f"{_V}setId", "root").lower()
    if not set_id:
        raise SPLError(source, "SPL document has no <setId root=...>; cannot identify the label")
    title_element = root.find(f"{_V}title")
    title = clean_text(_inline_text(title_element)).replace("\n", " ") if title_element is not None else ""
    return SPLDocument(
        source=source,
        set_id=set_id,
        version=_attr(root, f"{_V}versionNumber", "value"),
        document_id=_attr(root, f"{_V}id", "root").lower(),
        effective_time=_attr(root, f"{_V}effectiveTime", "value"),
        title=title,
        document_type=_attr(root, f"{_V}code", "code"),
        root=root,
        drug_name=_drug_name(root),
    )


def read_spl_bytes(data: bytes, source: str | Path) -> SPLDocument:
    """Parse SPL XML bytes safely and return the document; raise ``SPLError`` naming ``source``."""
    return read_spl_root(parse_spl_bytes(data, source), str(source))


def read_spl(path: str | Path) -> SPLDocument:
    """Read an SPL XML file; raise ``SPLError`` when it is missing, empty, malformed or not SPL."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SPLError(path, "file not found") from None
    except OSError as exc:
        raise SPLError(path, f"cannot read file ({exc.strerror or exc})") from None
    return read_spl_bytes(data, path)
