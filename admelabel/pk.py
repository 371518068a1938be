"""Find a label's Pharmacokinetics section and label its paragraphs with the heading rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from admelabel.labeling import INTRO, Context, child_context, is_known_heading
from admelabel.spl.reader import Block, Section, SPLDocument

PK_CODE = "43682-4"
CLINICAL_PHARMACOLOGY_CODE = "34090-1"
_PK_TITLE = re.compile(r"^\s*(\d+(\.\d+)*\.?\s*)?(human |clinical )?pharmacokinetics?\b", re.IGNORECASE)
_CLIN_PHARM_TITLE = re.compile(r"clinical pharmacology", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.;!?]\s*$")
MAX_LEAD_HEADING_WORDS = 8


@dataclass
class PKParagraph:
    """One text block of a Pharmacokinetics section with its rule label and provenance."""

    paragraph_index: int
    block_kind: str
    text: str
    section_path: list[str]
    heading: str
    rule_id: str
    label: str | None
    lead: str = ""


@dataclass
class PKResult:
    """The labelled blocks of one document; ``found_by`` names how the PK section was found."""

    found_by: str
    paragraphs: list[PKParagraph] = field(default_factory=list)
    headings: int = 0


def _title_or_lead(section: Section) -> str:
    if section.title:
        return section.title
    if section.blocks and section.blocks[0].lead:
        return section.blocks[0].lead
    return ""


def find_pk_sections(document: SPLDocument) -> tuple[list[Section], str]:
    """Return the outermost PK sections and how they were found, or ``([], "none")``.

    First choice: the outermost sections coded 43682-4 (nested ones stay inside as
    subsections). Old-format labels: a subsection of Clinical Pharmacology (34090-1,
    or an uncoded section titled so) whose title starts with "Pharmacokinetics".
    """
    found = document.outermost_sections(PK_CODE)
    if found:
        return found, "loinc-43682-4"

    for section in document.walk():
        if section.code == CLINICAL_PHARMACOLOGY_CODE or _CLIN_PHARM_TITLE.search(section.title or ""):
            for child in section.walk():
                if child is not section and _PK_TITLE.match(child.title or ""):
                    return [child], "clinical-pharmacology-title"
    return [], "none"


def _is_lead_heading(block: Block) -> bool:
    """Return whether a paragraph's emphasised lead is a heading rather than emphasis inside a sentence."""
    if not block.lead:
        return False
    if block.heading_only:
        return len(block.lead.split()) <= 2 * MAX_LEAD_HEADING_WORDS
    lead = block.lead.strip()
    if len(lead.split()) > MAX_LEAD_HEADING_WORDS:
        return False
    if lead.endswith(":") or len(block.lead_lines) > 1 or block.text.startswith(block.lead_lines[-1] + "\n"):
        return True
    return is_known_heading(lead)


def _is_plain_heading(block: Block) -> bool:
    text = block.text.strip()
    return block.kind == "paragraph" and not _SENTENCE_END.search(text) and "\n" not in text and is_known_heading(text)


class _InlineStack:
    """Headings written inside a section's text; a heading of a style already open closes it and what is under it."""

    def __init__(self, base: Context) -> None:
        self.base = base
        self.entries: list[tuple[str, Context]] = []

    @property
    def current(self) -> Context:
        return self.entries[-1][1] if self.entries else self.base

    def push(self, heading: str, style: str) -> Context:
        for position, (open_style, _) in enumerate(self.entries):
            if open_style == style:
                del self.entries[position:]
                break
        context = child_context(heading, self.current)
        self.entries.append((style, context))
        return context


def _strip_lead(text: str, lines: list[str]) -> str:
    """Remove the heading lines that open ``text``, with the colon or dash that follows them."""
    for line in lines:
        line = line.rstrip(":")
        if not text.startswith(line):
            break
        text = text[len(line):].lstrip(" :.-\n\t\u2013\u2014")
    return text


def _label_section(
    section: Section,
    context: Context,
    path: list[str],
    result: PKResult,
    counter: list[int],
    transparent: bool,
) -> None:
    stack = _InlineStack(context)
    for position, block in enumerate(section.blocks):
        index = counter[0]
        counter[0] += 1
        lead = ""
        if block.kind in ("paragraph", "list") and (_is_lead_heading(block) or _is_plain_heading(block)):
            lines = block.lead_lines if block.lead else [block.text]
            style = block.lead_style or "plain"
            if position == 0 and not section.title and block.lead and not transparent:
                # The lead of an untitled subsection's first paragraph is the subsection's heading,
                # already applied as ``context``; it must not stack a second time.
                lines = lines[1:]
            for depth, line in enumerate(lines):
                stack.push(line, style if depth == 0 else f"{style}#{depth}")
            if block.heading_only or not block.lead:
                result.headings += 1
                continue
            lead = block.lead
        current = stack.current
        text = _strip_lead(block.text, block.lead_lines) if lead else block.text
        if not text:
            result.headings += 1
            continue
        result.paragraphs.append(
            PKParagraph(
                paragraph_index=index,
                block_kind=block.kind,
                text=text,
                section_path=list(path),
                heading=current.heading,
                rule_id=current.rule_id,
                label=current.label_for(text),
                lead=lead,
            )
        )
    for child in section.children:
        heading = _title_or_lead(child)
        nested_pk = child.code == "43682-4" and bool(re.match(r"^\s*(\d+(\.\d+)*\.?\s*)?pharmacokinetics\s*$", heading, re.IGNORECASE))
        child_ctx = stack.current if nested_pk or not heading else child_context(heading, stack.current)
        path_title = heading or "(untitled)"
        _label_section(child, child_ctx, path + [path_title], result, counter, nested_pk or not heading)


def label_document(document: SPLDocument) -> PKResult:
    """Label every text block of the document's PK sections; ``found_by`` is ``"none"`` when there is none."""
    sections, found_by = find_pk_sections(document)
    result = PKResult(found_by=found_by)
    counter = [0]
    for section in sections:
        _label_section(section, INTRO, [section.title or "Pharmacokinetics"], result, counter, True)
    return result
