"""The HTML curation report of an annotation run: one self-contained file with inline CSS and JavaScript.

Labels are grouped by drug; each paragraph is a table row coloured by its predicted
class, with the confidence, the heading-rule class and an agree/disagree marker.
Controls filter by class, disagreement, low confidence and text, and sort by
confidence. The initial state of the controls is read from the URL fragment, for
example ``report.html#class=Metabolism&disagree=1&low=0.7&q=CYP3A4&sort=asc``, and the
number of visible rows is shown in ``<span id="visible-count">``. The file loads
nothing from the network: no external scripts, styles, fonts or images.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from admelabel import LABELS, __version__
from admelabel.errors import InputError
from admelabel.io import write_text_atomic

__all__ = ["render_report", "write_report", "CLASS_COLOURS"]

CLASS_COLOURS: dict[str, tuple[str, str]] = {
    "Absorption": ("#dbeafe", "#2563eb"),
    "Distribution": ("#dcfce7", "#16a34a"),
    "Metabolism": ("#fef3c7", "#d97706"),
    "Excretion": ("#fce7f3", "#db2777"),
    "Other": ("#f3f4f6", "#6b7280"),
}
"""Background and accent colour of each class."""

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#111827;background:#fff}
header{position:sticky;top:0;background:#f9fafb;border-bottom:1px solid #d1d5db;padding:10px 16px;z-index:2}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#4b5563;font-size:12px;margin:0 0 8px}
#counts{display:flex;gap:8px;flex-wrap:wrap;margin-bottom:8px}
.chip{border-radius:12px;padding:2px 10px;border-left:6px solid;cursor:pointer;user-select:none}
.chip b{margin-left:4px}
#controls{display:flex;gap:14px;flex-wrap:wrap;align-items:center;font-size:13px}
#controls input[type=search]{width:220px}
#controls input[type=number]{width:60px}
main{padding:8px 16px 40px}
section.drug{margin-top:18px}
section.drug>h2{font-size:16px;margin:0 0 4px;border-bottom:2px solid #e5e7eb}
details.label{margin:6px 0 10px 8px}
details.label>summary{cursor:pointer;color:#374151;font-size:13px}
table{border-collapse:collapse;width:100%;margin-top:4px;table-layout:fixed}
th{text-align:left;font-size:12px;color:#4b5563;border-bottom:1px solid #d1d5db;padding:3px 6px}
td{vertical-align:top;padding:4px 6px;border-bottom:1px solid #f3f4f6;font-size:13px}
td.text{white-space:pre-wrap}
col.c-path{width:16%}col.c-class{width:9%}col.c-conf{width:9%}col.c-rule{width:11%}
tr.p td:first-child{border-left:6px solid}
.bar{height:6px;background:#e5e7eb;border-radius:3px;margin-top:3px}
.bar span{display:block;height:6px;border-radius:3px;background:#374151}
.low .conf{color:#b91c1c;font-weight:600}
.agree{color:#16a34a}.disagree{color:#b91c1c;font-weight:600}.norule{color:#9ca3af}
.probs{color:#6b7280;font-size:11px}
.empty{color:#6b7280}
ul.plain{margin:4px 0;padding-left:20px;font-size:13px}
"""

_JS = """
(function(){
  var rows=Array.prototype.slice.call(document.querySelectorAll('tr.p'));
  var texts=rows.map(function(r){return r.textContent.toLowerCase();});
  var labels=Array.prototype.slice.call(document.querySelectorAll('details.label'));
  var drugs=Array.prototype.slice.call(document.querySelectorAll('section.drug'));
  var el=function(id){return document.getElementById(id);};
  var cls=el('f-class'),dis=el('f-disagree'),low=el('f-low'),thr=el('f-threshold'),q=el('f-search'),sort=el('f-sort');
  function readHash(){
    var h=location.hash.replace(/^#/,'');if(!h)return;
    h.split('&').forEach(function(kv){
      var i=kv.indexOf('=');var k=i<0?kv:kv.slice(0,i);var v=i<0?'':decodeURIComponent(kv.slice(i+1).replace(/\\+/g,' '));
      if(k==='class')cls.value=v;else if(k==='disagree')dis.checked=v==='1';
      else if(k==='low'){low.checked=true;if(v&&!isNaN(parseFloat(v)))thr.value=v;}
      else if(k==='q')q.value=v;else if(k==='sort')sort.value=v;
    });
  }
  function writeHash(){
    var parts=[];
    if(cls.value)parts.push('class='+encodeURIComponent(cls.value));
    if(dis.checked)parts.push('disagree=1');
    if(low.checked)parts.push('low='+encodeURIComponent(thr.value));
    if(q.value)parts.push('q='+encodeURIComponent(q.value));
    if(sort.value!=='doc')parts.push('sort='+sort.value);
    var h=parts.length?'#'+parts.join('&'):' ';
    if(history.replaceState)history.replaceState(null,'',h===' '?location.pathname+location.search:h);
  }
  function order(){
    var key=sort.value;
    Array.prototype.forEach.call(document.querySelectorAll('tbody'),function(tb){
      var rs=Array.prototype.slice.call(tb.children);
      rs.sort(function(a,b){
        if(key==='asc')return a.dataset.conf-b.dataset.conf||a.dataset.order-b.dataset.order;
        if(key==='desc')return b.dataset.conf-a.dataset.conf||a.dataset.order-b.dataset.order;
        return a.dataset.order-b.dataset.order;
      });
      rs.forEach(function(r){tb.appendChild(r);});
    });
  }
  function apply(){
    var c=cls.value,d=dis.checked,l=low.checked,t=parseFloat(thr.value),s=q.value.trim().toLowerCase();
    if(isNaN(t))t=0.6;
    var counts={},visible=0;
    rows.forEach(function(r,i){
      var conf=parseFloat(r.dataset.conf);
      r.classList.toggle('low',conf<t);
      var show=(!c||r.dataset.cls===c)&&(!d||r.dataset.agree==='0')&&(!l||conf<t)&&(!s||texts[i].indexOf(s)>=0);
      r.hidden=!show;
      if(show){visible++;counts[r.dataset.cls]=(counts[r.dataset.cls]||0)+1;}
    });
    labels.forEach(function(b){b.hidden=!b.querySelector('tr.p:not([hidden])');});
    drugs.forEach(function(g){g.hidden=!g.querySelector('details.label:not([hidden])');});
    el('visible-count').textContent=visible;
    Array.prototype.forEach.call(document.querySelectorAll('.chip'),function(ch){
      ch.querySelector('.vis').textContent=counts[ch.dataset.cls]||0;
    });
  }
  function update(){apply();writeHash();}
  readHash();order();apply();
  sort.addEventListener('change',function(){order();update();});
  [cls,dis,low].forEach(function(x){x.addEventListener('change',update);});
  [thr,q].forEach(function(x){x.addEventListener('input',update);});
  Array.prototype.forEach.call(document.querySelectorAll('.chip'),function(ch){
    ch.addEventListener('click',function(){cls.value=cls.value===ch.dataset.cls?'':ch.dataset.cls;update();});
  });
  document.body.dataset.ready='1';
})();
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _row(record: dict[str, Any], order: int) -> str:
    predicted = record["predicted"]
    confidence = float(record["confidence"])
    rule = record.get("rule_label")
    agrees = record.get("agrees")
    if rule is None:
        agree_attr, marker = "", '<span class="norule" title="no heading: the rules give no class">no heading</span>'
    elif agrees:
        agree_attr, marker = "1", f'{_esc(rule)} <span class="agree" title="agrees with the heading rules">&#10003;</span>'
    else:
        agree_attr, marker = "0", f'{_esc(rule)} <span class="disagree" title="disagrees with the heading rules">&#10007;</span>'
    background, accent = CLASS_COLOURS.get(predicted, ("#ffffff", "#000000"))
    probabilities = record.get("probabilities") or {}
    probs = " ".join(f"{label[:4]} {float(p):.2f}" for label, p in probabilities.items())
    path = " › ".join(record.get("section_path") or [])
    kind = "" if record.get("block_kind") in (None, "paragraph") else f' <span class="probs">[{_esc(record["block_kind"])}]</span>'
    return (
        f'<tr class="p" data-cls="{_esc(predicted)}" data-conf="{confidence:.4f}" data-agree="{agree_attr}" data-order="{order}" '
        f'style="background:{background}">'
        f'<td style="border-left-color:{accent}">{_esc(path)}<div class="probs">#{_esc(record.get("paragraph_index"))}{kind}</div></td>'
        f"<td><b>{_esc(predicted)}</b></td>"
        f'<td><span class="conf">{confidence:.2f}</span><div class="bar"><span style="width:{confidence * 100:.0f}%"></span></div></td>'
        f"<td>{marker}</td>"
        f'<td class="text">{_esc(record.get("text"))}<div class="probs">{_esc(probs)}</div></td>'
        "</tr>"
    )


def _label_block(key: tuple[str, str, str], rows: list[dict[str, Any]]) -> str:
    set_id, version, source = key
    body = "".join(_row(record, i) for i, record in enumerate(rows))
    disagreements = sum(1 for record in rows if record.get("agrees") is False)
    return (
        '<details class="label" open>'
        f"<summary>set id {_esc(set_id)}, version {_esc(version)}: {len(rows)} paragraphs, "
        f"{disagreements} disagreements <span class=\"probs\">{_esc(source)}</span></summary>"
        '<table><colgroup><col class="c-path"><col class="c-class"><col class="c-conf"><col class="c-rule"><col></colgroup>'
        "<thead><tr><th>section</th><th>predicted</th><th>confidence</th><th>heading rule</th><th>text</th></tr></thead>"
        f"<tbody>{body}</tbody></table></details>"
    )


def render_report(
    records: Iterable[dict[str, Any]],
    *,
    failures: Iterable[tuple[str, str]] = (),
    model_name: str = "",
    model_info: dict[str, Any] | None = None,
    low_confidence: float = 0.6,
    title: str = "ADME annotation report",
) -> str:
    """Return the HTML report for annotation records (the records of ``admelabel annotate``).

    Records with ``status`` no_pk_section are listed as labels without a PK section;
    ``failures`` lists ``(source, reason)`` of inputs that could not be read. All label
    text is HTML-escaped. The records are held in memory while the page is built.
    """
    drugs: dict[str, dict[tuple[str, str, str], list[dict[str, Any]]]] = defaultdict(dict)
    drug_names: dict[str, str] = {}
    without_pk: list[dict[str, Any]] = []
    per_class: Counter[str] = Counter()
    total = disagreements = low = 0
    for record in records:
        if record.get("status") != "ok":
            without_pk.append(record)
            continue
        name = (record.get("title") or "(no title)").strip()
        drug_key = name.lower()
        drug_names.setdefault(drug_key, name)
        key = (str(record.get("set_id")), str(record.get("version")), str(record.get("source")))
        drugs[drug_key].setdefault(key, []).append(record)
        per_class[record["predicted"]] += 1
        total += 1
        disagreements += record.get("agrees") is False
        low += float(record["confidence"]) < low_confidence
    failures = list(failures)

    chips = "".join(
        f'<span class="chip" data-cls="{_esc(label)}" style="background:{CLASS_COLOURS[label][0]};border-left-color:{CLASS_COLOURS[label][1]}" '
        f'title="click to show only {_esc(label)}">{_esc(label)}<b class="vis">{per_class.get(label, 0)}</b> / {per_class.get(label, 0)}</span>'
        for label in LABELS
    )
    options = '<option value="">all classes</option>' + "".join(f'<option value="{_esc(label)}">{_esc(label)}</option>' for label in LABELS)
    controls = (
        f'<label>class <select id="f-class">{options}</select></label>'
        '<label><input type="checkbox" id="f-disagree"> disagreements only</label>'
        f'<label><input type="checkbox" id="f-low"> confidence below <input type="number" id="f-threshold" min="0" max="1" step="0.05" value="{low_confidence:g}"></label>'
        '<label>search <input type="search" id="f-search" placeholder="text or section"></label>'
        '<label>sort <select id="f-sort"><option value="doc">document order</option>'
        '<option value="asc">confidence, lowest first</option><option value="desc">confidence, highest first</option></select></label>'
        f'<span><b id="visible-count">{total}</b> of <span id="total-count">{total}</span> paragraphs shown</span>'
    )
    sections = []
    for drug_key in sorted(drugs):
        blocks = "".join(_label_block(key, rows) for key, rows in drugs[drug_key].items())
        count = len(drugs[drug_key])
        sections.append(
            f'<section class="drug"><h2>{_esc(drug_names[drug_key])} <small class="probs">{count} label{"s" if count != 1 else ""}</small></h2>{blocks}</section>'
        )
    extra = []
    if without_pk:
        reasons = {"no_pk_section": "no PK section", "no_pk_paragraphs": "PK section without paragraphs"}
        items = "".join(
            f"<li>{_esc(r.get('title'))}: set id {_esc(r.get('set_id'))}, version {_esc(r.get('version'))}, "
            f"{_esc(reasons.get(r.get('status'), r.get('status')))} <span class=\"probs\">{_esc(r.get('source'))}</span></li>"
            for r in without_pk
        )
        extra.append(f'<section id="no-pk"><h2>Labels without PK paragraphs ({len(without_pk)})</h2><ul class="plain">{items}</ul></section>')
    if failures:
        items = "".join(f"<li>{_esc(source)}: {_esc(reason)}</li>" for source, reason in failures)
        extra.append(f'<section id="failures"><h2>Inputs that could not be read ({len(failures)})</h2><ul class="plain">{items}</ul></section>')

    created = (model_info or {}).get("created", "")
    labels_total = sum(len(v) for v in drugs.values())
    meta = (
        f"model {_esc(model_name)}{' (created ' + _esc(created) + ')' if created else ''}; "
        f"{labels_total} labels with PK paragraphs from {len(drugs)} drugs, {len(without_pk)} without PK paragraphs, {len(failures)} failed; "
        f"{total} paragraphs, {disagreements} disagree with the heading rules, {low} below confidence {low_confidence:g}; "
        f"admelabel {__version__}, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{_esc(title)}</h1><p class="meta">{meta}</p><div id="counts">{chips}</div><div id="controls">{controls}</div></header>'
        f"<main>{''.join(sections) or '<p class=empty>No PK paragraphs.</p>'}{''.join(extra)}</main>"
        f"<script>{_JS}</script></body></html>\n"
    )


def write_report(
    records: Iterable[dict[str, Any]],
    out: str | os.PathLike[str],
    *,
    summary: Any = None,
    model_info: dict[str, Any] | None = None,
    model_name: str = "",
    low_confidence: float = 0.6,
) -> Path:
    """Write the HTML report for ``records`` to ``out`` atomically and return the path.

    ``summary`` (an ``AnnotateSummary``) supplies the failed inputs to list.
    """
    failures = list(summary.failures) if summary is not None else []
    text = render_report(records, failures=failures, model_name=model_name, model_info=model_info, low_confidence=low_confidence)
    write_text_atomic(out, text)
    return Path(out)


def _read_annotation_file(annotations: Any) -> Any:
    """Yield the records of ``annotations``, adding to a read error what the command expects."""
    from admelabel.annotate import read_annotations

    try:
        yield from read_annotations(annotations)
    except InputError as exc:
        raise InputError(annotations, f"{exc.reason}; pass the JSONL or CSV that 'admelabel annotate' wrote") from None


def _check_annotation_record(annotations: Any, number: int, record: Any) -> None:
    """Raise ``InputError`` unless ``record`` looks like a record that ``admelabel annotate`` wrote."""
    status = record.get("status") if isinstance(record, dict) else None
    if status is None or (status == "ok" and not {"predicted", "confidence"} <= record.keys()):
        raise InputError(annotations, f"record {number} is not an annotation record of 'admelabel annotate' "
                                      "(it lacks status, predicted or confidence); pass the JSONL or CSV that annotate wrote")


def build_report_from_file(
    annotations: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    failures: Iterable[tuple[str, str]] = (),
    low_confidence: float = 0.6,
    title: str = "ADME annotation report",
) -> dict[str, int]:
    """Write the HTML report for an annotation file (JSONL or CSV) without running a model.

    ``failures`` lists ``(source, reason)`` of inputs that the annotate run could not
    read (they are not in the annotation file). Returns ``{"paragraphs", "labels"}``.
    Raises ``InputError`` for a missing file or a record that ``admelabel annotate``
    did not write; nothing is written then.
    """
    records = []
    models: set[str] = set()
    for number, record in enumerate(_read_annotation_file(annotations), start=1):
        _check_annotation_record(annotations, number, record)
        if record.get("model"):
            models.add(str(record["model"]))
        records.append(record)
    if not records:
        raise InputError(annotations, "no annotation records; run 'admelabel annotate ... --format jsonl --out FILE' first")
    text = render_report(records, failures=failures, model_name=", ".join(sorted(models)), low_confidence=low_confidence, title=title)
    write_text_atomic(out, text)
    labels = {(r.get("set_id"), r.get("version"), r.get("source")) for r in records if r.get("status") == "ok"}
    return {"paragraphs": sum(r.get("status") == "ok" for r in records), "labels": len(labels)}
