#!/usr/bin/env bash
# Validation time of `jitsuin pdf verify` on large signed PDFs (issue 12), against two baselines
# measured in the same run on the same file: `sha256sum` (the hashing floor) and poppler's
# `pdfsig`. Each PDF has one page drawing an uncompressed image of SIZE MB and three signatures
# (jitsuin pdf sign, three times: a signature and two counter-signatures). Best of 3 runs each.
# Not part of ./test.sh; run on a quiet machine.
#
# Usage: tests/bench/bench_pdf.sh JITSUIN_BINARY [SIZE_MB ...]     (default sizes: 10 50)
set -euo pipefail
bin="$(realpath "$1")"
here="$(cd "$(dirname "$0")" && pwd)"
shift
sizes="${*:-10 50}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
source "$here/../contract/pdf_home.sh"
pdf_signer bench "Bench Signer"

best() {   # best of 3 wall-clock seconds of a command (its exit status ignored)
  local b=""
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    b=$(echo "$s $e ${b:-999999}" | awk '{d=$2-$1; print (d<$3)?d:$3}')
  done
  echo "$b"
}

for mb in $sizes; do
  /usr/bin/python3 "$here/../contract/make_pdf.py" big.pdf --image-mb "$mb"
  cp big.pdf s0.pdf
  for i in 1 2 3; do
    jitsuin pdf sign "s$((i - 1)).pdf" --out "s$i.pdf" --key 'pkcs11:token=bench;object=k' --cert k.pem --pin-file k.pin >/dev/null
  done
  jitsuin pdf verify s3.pdf >/dev/null || { echo "bench_pdf: s3.pdf did not verify PASSED"; jitsuin pdf verify s3.pdf; exit 1; }
  sha=$(best sha256sum s3.pdf)
  ours=$(best "$bin" --home "$pdf_home" pdf verify s3.pdf)
  pop=$(best pdfsig s3.pdf)
  size=$(stat -c %s s3.pdf)
  awk -v mb="$mb" -v size="$size" -v sha="$sha" -v ours="$ours" -v pop="$pop" 'BEGIN {
    printf "%d MB PDF (%d bytes, 3 signatures): sha256sum %.3f s, jitsuin pdf verify %.3f s, pdfsig %.3f s\n", mb, size, sha, ours, pop
    printf "  verify / sha256sum = %.2f   verify / pdfsig = %.2f\n", ours / sha, ours / pop }'
done
