#!/usr/bin/env bash
# Refreshes docs/screenshots/ (and so the README's picture) from the gate
# screen's browser tests: real headless Chromium at 1024×600, 390×844 and the
# other sizes the tests use; and the printed daily report (Chromium's print
# to PDF on A4, pdftoppm from poppler-utils to PNG). CI=true: a missing
# Chromium or pdftoppm fails, never skips.
#
#   scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CI=true SCREENSHOT_DIR="$PWD/docs/screenshots" go test -count=1 -run '^TestBrowser' ./screen/
CI=true SCREENSHOT_DIR="$PWD/docs/screenshots" go test -count=1 -run '^TestReportHTMLPrintsOnOneA4Page$' ./internal/office/
ls -l docs/screenshots/
