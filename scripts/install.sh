#!/usr/bin/env bash
# Install admelabel and everything its tests need on a fresh Debian machine:
# Debian packages (WordNet, Apertium, Chromium), a virtual environment in .venv with
# the CPU build of torch, the project itself, and WordNet data for nltk inside .venv.
# Safe to run again: every step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(wordnet-base wordnet-sense-index apertium apertium-eng-spa chromium)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==${ADMELABEL_TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install -q -e ".[test,trainer-benchmark]"

# WordNet for EDA, copied into .venv/nltk_data where nltk looks by default.
.venv/bin/python -m admelabel.augment.wordnet_data install
