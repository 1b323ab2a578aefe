#!/usr/bin/env bash
# Install shike-mm into a fresh virtual environment for each given Python,
# the README's way, and run a smoke subset of the tests there: registration,
# a CPU training step with resume, safe checkpoint loading, shike_mm:: names
# without pkg_resources, the model index. Then check MIM: mim list, mim
# train and mim test with onedl-mim on the editable install, and with
# openmim (and setuptools < 82) on a wheel install.
#
#   tools/misc/smoke_python_versions.sh [VERSION|PYTHON ...]
#
# VERSION is e.g. 3.12 (python3.12 on PATH, else the newest pyenv 3.12.x);
# the default is 3.12 3.13. Environment:
#   SMOKE_EXTRAS  extras to install, default lite,tests (onedl,tests for the
#                 OneDL forks, Python >= 3.10)
#   SMOKE_MIM     0 skips the MIM checks (default 1)
# The virtual environments (about 6 GiB each, torch included) and a copy of
# the checkout go to a temporary folder under $TMPDIR (default /tmp), which
# is removed at the end. Python 3.12+ downloads torch (about 2 minutes each).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
EXTRAS=${SMOKE_EXTRAS:-lite,tests}
SMOKE_MIM=${SMOKE_MIM:-1}
TESTS=(tests/test_registration.py tests/tools/test_train_resume.py
       tests/utils/test_checkpoint.py tests/utils/test_config_names.py
       tests/apis/test_model_index.py)
export OMP_NUM_THREADS=1 PIP_DISABLE_PIP_VERSION_CHECK=1

find_python() {
    if [[ $1 == */* ]]; then
        echo "$1"
    elif "python$1" --version > /dev/null 2>&1; then
        command -v "python$1"
    elif command -v pyenv > /dev/null && pyenv latest "$1" > /dev/null 2>&1
    then
        echo "$(pyenv root)/versions/$(pyenv latest "$1")/bin/python"
    else
        echo "no Python $1 (neither python$1 nor pyenv)" >&2
        return 1
    fi
}

# check_mim VENV LABEL: mim list shows shike-mm; mim train (2 epochs of
# digits-LT, bare config name) and mim test (relative name) run.
check_mim() {
    local mim=$1/bin/mim work=$SCRATCH/mim-$2
    "$mim" list 2> /dev/null | grep -q '^shike-mm' \
        || { echo "mim list misses shike-mm ($2)" >&2; return 1; }
    (cd "$SCRATCH" && "$mim" train shike_mm shike_r32_digits-lt.py \
        --work-dir "$work" \
        --cfg-options train_cfg.max_epochs=2 train_cfg.val_interval=2 \
        custom_hooks.0.switch_epoch=1 > "$work.log" 2>&1 \
        && "$mim" test shike_mm shike/shike_r32_digits-lt.py \
        --checkpoint "$work/epoch_2.pth" --work-dir "$work" \
        >> "$work.log" 2>&1) \
        || { tail -30 "$work.log" >&2; return 1; }
    grep -q 'Epoch(test).*lt/top1' "$work.log" \
        || { echo "mim test printed no metrics ($2)" >&2; return 1; }
    echo "mim list/train/test: ok ($2 install, $("$mim" --version))"
}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/shike-smoke-XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
# A copy of the checkout without ignored files (build/, work_dirs/), new for
# each Python: MIM searches an editable install's whole checkout for a bare
# config name, and a wheel build leaves build/ there.
SRC=$SCRATCH/shike-mm
copy_checkout() {
    rm -rf "$SRC" && mkdir "$SRC"
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do
            if [[ -e $f ]]; then printf '%s\0' "$f"; fi
          done \
        | tar --null -T - -cf - | tar -C "$SRC" -xf -
}

for version in "${@:-3.12 3.13}"; do
  for v in $version; do
    python=$(find_python "$v")
    venv=$SCRATCH/venv
    echo "=== $("$python" --version), extras [$EXTRAS]"
    start=$SECONDS
    copy_checkout
    "$python" -m venv "$venv"
    (cd "$SRC" && "$venv/bin/python" -m pip install -q -e ".[$EXTRAS]")
    "$venv/bin/python" - <<'EOF'
import importlib.metadata as md
import importlib.util
names = ('torch', 'setuptools', 'mmpretrain', 'mmengine', 'mmcv-lite',
         'mmcv', 'onedl-mmpretrain', 'onedl-mmengine', 'onedl-mmcv')
found = []
for name in names:
    try:
        found.append(f'{name} {md.version(name)}')
    except md.PackageNotFoundError:
        pass
print('installed:', ', '.join(found))
print('pkg_resources importable:',
      importlib.util.find_spec('pkg_resources') is not None)
EOF
    (cd "$SRC" && "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        "${TESTS[@]}")
    if [[ $SMOKE_MIM == 1 ]]; then
      pip=("$venv/bin/python" -m pip install -q)
      # onedl-mim finds an editable install through pip's direct_url.json.
      "${pip[@]}" onedl-mim
      check_mim "$venv" editable
      # openmim imports pkg_resources, and finds the package in
      # site-packages, so it works with a wheel install and setuptools < 82.
      "$venv/bin/python" -m pip uninstall -q -y onedl-mim
      "${pip[@]}" openmim 'setuptools>=77.0.3,<82'
      (cd "$SRC" && "${pip[@]}" --no-deps --force-reinstall .)
      check_mim "$venv" wheel
    fi
    rm -rf "$venv" "$SRC" "$SCRATCH"/mim-*
    echo "=== $("$python" --version): passed in $((SECONDS - start)) s"
  done
done
