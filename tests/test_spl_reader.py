"""SPL reader: header fields, section tree, text spacing, safety limits."""

from __future__ import annotations

import pytest

from admelabel.errors import SPLError
from admelabel.spl.reader import read_spl, read_spl_bytes

SPL_HEAD = b'<?xml version="1.0"?><document xmlns="urn:hl7-org:v3"><setId root="ABC-1"/><versionNumber value="2"/>'


def pk_text(inner: str) -> bytes:
    return (
        SPL_HEAD
        + b"<component><structuredBody><component><section><code code=\"43682-4\"/><text>"
        + inner.encode()
        + b"</text></section></component></structuredBody></component></document>"
    )


def first_block(inner: str):
    document = read_spl_bytes(pk_text(inner), "inline.xml")
    return document.sections[0].blocks[0]


def test_header_fields(fixtures_dir):
    document = read_spl(fixtures_dir / "spl" / "titled_subsections.xml")
    assert document.set_id == "11111111-1111-1111-1111-111111111111"
    assert document.version == "3"
    assert document.document_id == "d1111111-0000-0000-0000-000000000001"
    assert document.effective_time == "20240115"
    assert document.document_type == "34391-3"
    assert document.drug_name == "Examplol (examplol)"


def test_set_id_lower_cased():
    document = read_spl_bytes(pk_text("<paragraph>x</paragraph>"), "upper.xml")
    assert document.set_id == "abc-1"


def test_section_tree(fixtures_dir):
    document = read_spl(fixtures_dir / "spl" / "titled_subsections.xml")
    pk = document.outermost_sections("43682-4")
    assert len(pk) == 1
    assert pk[0].title == "12.3 Pharmacokinetics"
    assert [child.title for child in pk[0].children] == ["Absorption", "Distribution:", "Elimination", "Specific Populations"]
    assert [child.title for child in pk[0].children[2].children] == ["Metabolism", "Excretion"]


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ("<paragraph>C<sub>max</sub> rose</paragraph>", "Cmax rose"),
        ("<paragraph>dose of 10<sup>6</sup> units</paragraph>", "dose of 106 units"),
        ('<paragraph><content styleCode="bold">Absorption:</content>Naproxen is absorbed</paragraph>', "Absorption: Naproxen is absorbed"),
        ('<paragraph>see <linkHtml href="#x">8.2</linkHtml>.</paragraph>', "see 8.2."),
        ('<paragraph><content styleCode="bold">Pharmacokinetics</content><content styleCode="bold">Absorption</content></paragraph>', "Pharmacokinetics Absorption"),
        ("<paragraph>first line<br/>second   line</paragraph>", "first line\nsecond line"),
        ("<paragraph>T\n   \n  <sub>max</sub> is 2 h</paragraph>", "T max is 2 h"),
        ('<paragraph>an <content styleCode="italics">in vivo</content> study</paragraph>', "an in vivo study"),
    ],
)
def test_inline_spacing(inner, expected):
    assert first_block(inner).text == expected


def test_list_items_one_per_line():
    block = first_block("<list><item>Volume: 40 L</item><item><caption>b.</caption>Ratio: 0.8</item></list>")
    assert block.kind == "list"
    assert block.text == "Volume: 40 L\nRatio: 0.8"


def test_table_rows_and_caption():
    block = first_block(
        "<table><caption>Table 1</caption><tbody><tr><th>A</th><th>B</th></tr><tr><td>C<sub>max</sub></td><td>1 mg</td></tr></tbody></table>"
    )
    assert block.kind == "table"
    assert block.text == "Table 1\nA | B\nCmax | 1 mg"


def test_heading_only_paragraph():
    block = first_block('<paragraph><content styleCode="underline">Elimination</content><br/><content styleCode="italics">Metabolism</content></paragraph>')
    assert block.heading_only is True
    assert block.lead_lines == ["Elimination", "Metabolism"]


def test_lead_with_colon_outside_markup():
    block = first_block('<paragraph><content styleCode="italics">Aspirin</content>: When given together</paragraph>')
    assert block.heading_only is False
    assert block.lead == "Aspirin:"


def test_list_with_heading_item_splits():
    document = read_spl_bytes(
        pk_text('<list><item><caption> </caption><content styleCode="italics">Metabolism</content></item><item>It is hydroxylated.</item></list>'),
        "list.xml",
    )
    blocks = document.sections[0].blocks
    assert [block.text for block in blocks] == ["Metabolism", "It is hydroxylated."]
    assert blocks[0].heading_only is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"   \n", "file is empty"),
        (b"<document xmlns='urn:hl7-org:v3'><unclosed></document>", "malformed XML"),
        (b"<html><body>Service unavailable</body></html>", "not an SPL document (root element <html>"),
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><document xmlns="urn:hl7-org:v3">&b;</document>', "declares XML entities"),
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><document xmlns="urn:hl7-org:v3">&x;</document>', "declares XML entities"),
        (b"<a>" * 300 + b"</a>" * 300, "nesting deeper than 256"),
        (b'<document xmlns="urn:hl7-org:v3"><title>no set id</title></document>', "no <setId"),
    ],
)
def test_bad_input_rejected(data, message):
    with pytest.raises(SPLError) as caught:
        read_spl_bytes(data, "bad.xml")
    assert caught.value.source == "bad.xml"
    assert message in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(SPLError, match="file not found"):
        read_spl(tmp_path / "absent.xml")
