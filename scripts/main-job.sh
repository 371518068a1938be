#!/usr/bin/env bash
# Run admelabel's main job on its embedded defaults, after scripts/install.sh:
#   1. fetch labels into the corpus under data/ (the local DailyMed sample in
#      ../shared/data/spl when it exists, else DailyMed web services),
#   2. train the classifier (pre-finetuning with EDA augmentation, CPU profile
#      without a GPU) into models/,
#   3. annotate every label of the corpus with that model: data/annotations.jsonl
#      and the curation report data/annotations.html.
# Every step resumes or skips what an earlier run finished.
set -euo pipefail
cd "$(dirname "$0")/.."
admelabel=.venv/bin/admelabel
shared_labels=../shared/data/spl

if [ -d "$shared_labels" ]; then
    "$admelabel" fetch "$shared_labels"/*.xml
else
    "$admelabel" fetch --limit "${ADMELABEL_FETCH_LIMIT:-500}"
fi

model=models/adme-prefinetune-da
if [ ! -f "$model/admelabel.json" ]; then
    if [ -d "$model.partial" ]; then
        "$admelabel" train corpus: --out "$model" --resume "$model.partial"
    else
        "$admelabel" train corpus: --out "$model"
    fi
fi

# --resume skips labels already annotated with this model and adds newly fetched ones.
resume=()
[ -f data/annotations.jsonl ] && resume=(--resume)
"$admelabel" annotate corpus: --model "$model" --format jsonl --out data/annotations.jsonl --summary-only "${resume[@]}"
# The HTML report is rebuilt only when the JSONL's content changed since the last report.
jsonl_sha=$(sha256sum data/annotations.jsonl | cut -d' ' -f1)
if [ ! -f data/annotations.html ] || [ "$(cat data/annotations.html.sha256 2>/dev/null)" != "$jsonl_sha" ]; then
    "$admelabel" annotate corpus: --model "$model" --format html --out data/annotations.html --summary-only
    echo "$jsonl_sha" > data/annotations.html.sha256
fi
echo "Annotations: data/annotations.jsonl; curation report: data/annotations.html"
