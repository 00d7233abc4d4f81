#!/usr/bin/env bash
# Offline demo of the whole chain on the five seed articles with the tiny config:
# build the dataset, train, evaluate, predict, and stage a Hub upload (dry run).
# Usage: bash scripts/demo.sh [OUT_DIR]   (default: runs/demo; an earlier demo there is replaced,
# anything else is refused)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-runs/demo}"
if [ -e "$OUT" ] && [ ! -f "$OUT/.demo" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  echo "error: $OUT exists and is not an earlier demo folder; choose another OUT_DIR" >&2
  exit 2
fi
rm -rf "$OUT" && mkdir -p "$OUT" && touch "$OUT/.demo"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

python scripts/build_dataset.py --input seeds/ --output "$OUT/data" --gold seeds/gold.jsonl
python scripts/train.py --config configs/tiny.yaml --data "$OUT/data" --output "$OUT/model"
python scripts/evaluate_model.py --model "$OUT/model" --data seeds/gold.jsonl --output "$OUT/eval"
python scripts/predict.py --model "$OUT/model" --input seeds/ --output "$OUT/predictions.jsonl"
python scripts/publish.py --model "$OUT/model" --repo-id demo-user/arabic-events-tiny --dry-run "$OUT/upload"

echo
echo "Demo finished. Look at:"
echo "  $OUT/data/lf_report.md        what each labeling rule does, and its accuracy on the gold sentences"
echo "  $OUT/eval/report.md           model vs rules vs baseline, per label (and f1.png, pr_curves.png)"
echo "  $OUT/predictions.jsonl        one row per sentence: labels and scores"
echo "  $OUT/upload/README.md         the model card that publish.py would upload"
