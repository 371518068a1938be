"""Safe parsing of untrusted XML: no DTD loading, no entity expansion, no network.

Labels come from outside, so a document that declares entities (the "billion laughs"
bomb, external entities that read local files or URLs) is rejected outright rather
than expanded, and nesting deeper than ``MAX_DEPTH`` is rejected by libxml2 while
parsing, before it can exhaust the stack or memory.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from admelabel.errors import SPLError

HL7_NS = "urn:hl7-org:v3"
MAX_DEPTH = 256
"""Deepest element nesting accepted: libxml2's own limit when ``huge_tree`` is off. Real labels nest about 20 levels."""

MAX_BYTES = 200 * 1024 * 1024
"""Largest document accepted, in bytes. The largest real labels are a few megabytes."""

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml_bytes(data: bytes, source: str | Path) -> etree._Element:
    """Parse ``data`` and return the root element, or raise ``SPLError`` naming ``source``.

    Rejects empty input, documents over ``MAX_BYTES``, any ``<!ENTITY`` declaration,
    malformed XML and nesting deeper than ``MAX_DEPTH``. A plain DOCTYPE without
    entity declarations is allowed and never loaded.
    """
    source = str(source)
    if not data or not data.strip():
        raise SPLError(source, "file is empty")
    if len(data) > MAX_BYTES:
        raise SPLError(source, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB; not a DailyMed label")
    head = data[:65536]
    if _DOCTYPE.search(head) and _ENTITY_DECL.search(data):
        raise SPLError(source, "document declares XML entities, which are rejected for safety; SPL labels never need them")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc).splitlines()[0] if str(exc) else "syntax error"
        if "depth" in message.lower():
            raise SPLError(source, f"XML nesting deeper than {MAX_DEPTH} levels; not a DailyMed label") from None
        raise SPLError(source, f"malformed XML ({message})") from None
    if root is None:
        raise SPLError(source, "no XML root element")
    return root


def is_spl_root(root: etree._Element) -> bool:
    """Return whether ``root`` is an HL7 v3 ``<document>``, the root of every SPL file."""
    return root.tag == f"{{{HL7_NS}}}document"


def parse_spl_bytes(data: bytes, source: str | Path) -> etree._Element:
    """Parse ``data`` safely and check that it is an SPL document; raise ``SPLError`` otherwise."""
    root = parse_xml_bytes(data, source)
    if not is_spl_root(root):
        tag = etree.QName(root).localname if isinstance(root.tag, str) else str(root.tag)
        raise SPLError(source, f"not an SPL document (root element <{tag}>, expected <document> in namespace {HL7_NS})")
    return root
