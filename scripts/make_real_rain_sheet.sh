#!/usr/bin/env bash
# Before/after sheets and no-reference rain-removal figures of the packaged model on real rain
# photos (no ground truth). The full sheets (input | output | difference) stay in runs/real-rain/;
# the photos may not be redistributed, so docs/img/real_rain_sheet*.jpg are the same sheets with
# the amplified difference panel only (what the model removed), plus docs/real_rain_report.json.
# Method and how to read them: docs/real_rain.md.
# Usage: bash scripts/make_real_rain_sheet.sh [DATA_DIR [compare options...]]
#   DATA_DIR defaults to ../shared/data/real_rain; e.g. add --model other.onnx to compare another
#   exported model. The pages are kept small for the repository (rows 200 px, JPEG quality 80).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/real_rain}
shift $(( $# > 0 ? 1 : 0 ))
out=runs/real-rain
ed=.venv/bin/edgederain
rc=0
$ed compare "$data" -o "$out" --row-height 200 --quality 80 --quiet "$@" || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
  exit "$rc"   # usage error or interrupted: nothing to publish
fi
$ed compare "$data" -o "$out/removed" --row-height 200 --quality 80 --quiet --no-photos "$@" || true
out=$out/removed
mkdir -p docs/img
rm -f docs/img/real_rain_sheet.jpg docs/img/real_rain_sheet_[0-9]*.jpg
for page in "$out"/sheet.jpg "$out"/sheet_[0-9]*.jpg; do
  [ -e "$page" ] && cp "$page" "docs/img/real_rain_$(basename "$page")"
done
cp "$out/report.json" docs/real_rain_report.json
bytes=$(cat docs/img/real_rain_sheet*.jpg | wc -c)
echo "pages: $(ls docs/img/real_rain_sheet*.jpg | tr '\n' ' ')($((bytes / 1024)) KiB in all)"
if [ "$bytes" -gt 1572864 ]; then
  echo "warning: the pages add up to more than 1.5 MiB; lower --quality or --row-height" >&2
fi
exit "$rc"
