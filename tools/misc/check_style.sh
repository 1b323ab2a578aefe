#!/usr/bin/env bash
# The code style checks that CI runs before the tests, with the settings in
# setup.cfg (MMPretrain's): flake8, isort and yapf, each only checking.
# Fix what they report with
#   isort shike_mm tools tests configs setup.py
#   yapf -i -r shike_mm tools tests configs setup.py
# The tools come with the tests extra, at the versions the code was
# formatted with (pip install -e ".[lite,tests]").
set -euo pipefail
cd "$(dirname "$0")/../.."
python -m flake8 shike_mm tools tests
python -m isort --check-only --diff shike_mm tools tests configs setup.py
python -m yapf --diff --recursive shike_mm tools tests configs setup.py
echo 'style: flake8, isort and yapf found nothing to change'
