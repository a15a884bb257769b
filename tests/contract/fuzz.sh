#!/usr/bin/env bash
# Builds the libFuzzer target over the PDF signature validator (contract/fuzz/pdf_verify_fuzz.cpp)
# with clang and runs it over a seed corpus of signed PDFs made here: 0 crashes, 0 sanitizer
# reports. The validator's sources (contract/src/pdf_{verify,changes,file}.cpp) are compiled by
# clang with -fsanitize=fuzzer,address (coverage-guided); the rest (ca, core ... the static
# libraries of the g++ build), OpenSSL and qpdf are linked uninstrumented.
#
# clang 14 with libstdc++ 12 in C++20 cannot compile qpdf 11's <qpdf/JSON.hh>: the defaulted
# virtual destructor of the nested JSON::JSON_array, whose std::vector<JSON> holds the still
# incomplete JSON, is implicitly constexpr in C++20 and clang instantiates ~vector<JSON> there
# ("static_assert failed ... template argument must be a complete class"). The build uses a copy
# of the header in which that destructor is only declared (libqpdf defines it, with the vtable);
# nothing else differs.
#
# Usage: tests/contract/fuzz.sh BUILD_DIR SOURCE_DIR JITSUIN_BINARY [-runs=N | -max_total_time=S] [more libFuzzer flags]
#   CTest contract_fuzz: -runs=3000.  A long run: tests/contract/fuzz.sh build . build/enroll/jitsuin -max_total_time=600
set -euo pipefail
build="$(realpath "$1")"
src="$(realpath "$2")"
bin="$(realpath "$3")"
shift 3
flags=("$@")
[ ${#flags[@]} -gt 0 ] || flags=(-runs=3000)
clang="$(command -v clang++-14 || command -v clang++)"
out="$build/contract-fuzz"
mkdir -p "$out/compat/qpdf"

# The compatibility copy of JSON.hh (see above), checked to differ by that one line.
sed 's|^\( *\)virtual ~JSON_array() = default;|\1virtual ~JSON_array();  // jitsuin: declared only (clang 14, C++20)|' \
    /usr/include/qpdf/JSON.hh > "$out/compat/qpdf/JSON.hh"
[ "$(diff /usr/include/qpdf/JSON.hh "$out/compat/qpdf/JSON.hh" | grep -c '^[<>]')" = 2 ] ||
    { echo "fuzz.sh: qpdf's JSON.hh is not the one the workaround expects"; exit 1; }

includes=(-I"$out/compat" -I"$src/contract/include" -I"$src/contract/src" -I"$src/ca/include" -I"$src/hsm/include"
          -I"$src/db/include" -I"$src/config/include" -I"$src/core/include")
cxx=("$clang")
command -v ccache >/dev/null && cxx=(ccache "$clang")
objs=()
for f in contract/src/pdf_verify.cpp contract/src/pdf_changes.cpp contract/src/pdf_file.cpp contract/fuzz/pdf_verify_fuzz.cpp; do
  o="$out/$(basename "$f" .cpp).o"
  "${cxx[@]}" -std=c++20 -O1 -g -fsanitize=fuzzer-no-link,address -DPOINTERHOLDER_TRANSITION=4 "${includes[@]}" \
      -c "$src/$f" -o "$o"
  objs+=("$o")
done
libs=("$build/contract/libjitsuin_contract.a" "$build/ca/libjitsuin_ca.a" "$build/hsm/libjitsuin_hsm.a"
      "$build/db/libjitsuin_db.a" "$build/config/libjitsuin_config.a" "$build/core/libjitsuin_core.a")
"$clang" -fsanitize=fuzzer,address "${objs[@]}" "${libs[@]}" $(pkg-config --libs libqpdf libp11 sqlite3 libcrypto libssl) \
    -o "$out/pdf_verify_fuzz"

# Seeds: signed PDFs made here (a one-page PDF signed once, twice, and with object streams), the
# unsigned ones, and the home's CA certificates as the fuzzer's trust anchors.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
source "$src/tests/contract/pdf_home.sh"
pdf_signer fuzz "Fuzz Signer"
mkdir seeds corpus
/usr/bin/python3 "$src/tests/contract/make_pdf.py" seeds/plain.pdf
qpdf --object-streams=generate seeds/plain.pdf seeds/objstm.pdf
sign() { jitsuin pdf sign "$1" --out "$2" --key 'pkcs11:token=fuzz;object=k' --cert k.pem --pin-file k.pin >/dev/null; }
sign seeds/plain.pdf seeds/signed1.pdf
sign seeds/signed1.pdf seeds/signed2.pdf
sign seeds/objstm.pdf seeds/objstm-signed.pdf
export JITSUIN_FUZZ_TRUST="$work/chain.pem"   # the issuing CA and the root
# Leak checks stay on: a leak in the validator is a finding too. An input that crashes is kept as
# BUILD_DIR/contract-fuzz/crash-* (the corpus the run grows is temporary).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    "$out/pdf_verify_fuzz" -max_len=131072 -print_final_stats=1 -artifact_prefix="$out/" "${flags[@]}" corpus seeds
echo "fuzz.sh: no crash, no sanitizer report"
