# Sourced by the PDF shell tests and benchmarks (tests/contract/readme_pdf.sh,
# tests/bench/bench_pdf.sh): in the current folder, a SoftHSM2 token store of its own
# (SOFTHSM2_CONF), and `jitsuin`, the built binary $bin on home ./home with its CA created and an
# RA administrator logged in; pdf_signer LABEL CN makes a signer.
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$PWD" > softhsm2.conf
export SOFTHSM2_CONF="$PWD/softhsm2.conf"
pdf_home="$PWD/home"
jitsuin() { "$bin" --home "$pdf_home" "$@"; }
jitsuin ca init >/dev/null
printf 'passphrase of the RA administrator\n' > admin.pw && chmod 600 admin.pw
jitsuin ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
jitsuin login --user admin --password-file admin.pw >/dev/null

# pdf_signer LABEL CN: a SoftHSM2 token LABEL holding a P-256 key "k" (imported, then the file
# removed) certified by the home's CA for CN: k.pem, chain.pem (issuing CA and root), and its PIN
# in k.pin. Sign with --key "pkcs11:token=LABEL;object=k" --cert k.pem --pin-file k.pin.
pdf_signer() {
  softhsm2-util --init-token --free --label "$1" --so-pin 87654321 --pin 12345678 >/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.key -subj /CN=k -out k.csr 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in k.key -out k.p8
  softhsm2-util --import k.p8 --token "$1" --label k --id 01 --pin 12345678 >/dev/null
  rm k.key k.p8
  printf '{"common_name": "%s", "organization": "Example"}\n' "$2" > k.json
  jitsuin ca issue --profile individual-signing --csr k.csr --subject k.json --out k.pem --chain chain.pem >/dev/null
  printf '12345678\n' > k.pin && chmod 600 k.pin
}
