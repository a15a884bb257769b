#!/usr/bin/env bash
# Installs the Debian packages jitsuin needs, only when something is missing.
# Usage: scripts/deps.sh [run|test]   (test adds the independent checkers used by the test suite)
set -euo pipefail
mode="${1:-run}"
packages=(
  build-essential cmake ninja-build pkg-config
  libssl-dev openssl libp11-dev libp11-kit-dev softhsm2
  libsqlite3-dev sqlite3 nlohmann-json3-dev
  libboost-dev libboost-system-dev
  libcurl4-openssl-dev libcairo2-dev libpango1.0-dev fonts-ipaexfont-gothic fonts-ipaexfont-mincho
  libgtest-dev libgmock-dev libbotan-2-dev
  libqpdf-dev
)
if [ "$mode" = test ]; then
  packages+=(gnutls-bin opensc poppler-utils python3-aiosmtpd time curl jq libnss3-tools qpdf)
  packages+=(opencryptoki)   # a second real PKCS#11 module for the token agent (tests/enroll/token_ock_test.sh)
  packages+=(systemd)   # ops: systemd-analyze verify of config/systemd (CTest deploy_units)
  packages+=(wrk golang-cfssl nginx-light python3-cryptography-vectors)   # benches (tests/bench) and PKITS (contract)
  packages+=(clang-14 libclang-rt-14-dev)   # the libFuzzer target of the PDF validator (tests/contract/fuzz.sh)
  packages+=(libreoffice-writer-nogui)   # tagged PDFs from LibreOffice for counter-signing (tests/contract/pdf_test.cpp)

  packages+=(chromium chromium-driver python3-selenium poppler-utils)   # web: the consoles in a real browser (tests/web)
fi
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "jitsuin: installing missing packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "jitsuin: need root to install packages (run as root or install them yourself)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y --no-install-recommends "${missing[@]}"
fi
