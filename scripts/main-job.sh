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
"$admelabel" annotate corpus: --model "$model" --format jsonl --out data/annotations.jsonl --summary-only \
    --summary-json data/annotate-summary.json "${resume[@]}"
# The HTML report is built from the JSONL, so the model does not run a second time.
"$admelabel" report data/annotations.jsonl --out data/annotations.html --summary-json data/annotate-summary.json --quiet
echo "Annotations: data/annotations.jsonl; curation report: data/annotations.html"
