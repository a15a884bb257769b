# Sourced by the PDF shell tests and benchmarks (tests/contract/readme_pdf.sh,
# tests/bench/bench_pdf.sh): in the current folder, a SoftHSM2 token store of its own
# (SOFTHSM2_CONF), and `jitsuin`, the built binary $bin on home ./home with its CA created and an
# RA administrator logged in.
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$PWD" > softhsm2.conf
export SOFTHSM2_CONF="$PWD/softhsm2.conf"
pdf_home="$PWD/home"
jitsuin() { "$bin" --home "$pdf_home" "$@"; }
jitsuin ca init >/dev/null
printf 'passphrase of the RA administrator\n' > admin.pw && chmod 600 admin.pw
jitsuin ra operator-add --name admin --role administrator --password-file admin.pw >/dev/null
jitsuin login --user admin --password-file admin.pw >/dev/null
