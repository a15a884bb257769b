#!/usr/bin/env bash
# The module arrows go one way (README "What is here"): enroll → ra → ca → hsm,
# contract → ca → hsm, and ra, ca, contract → db → config → core; net (libcurl) → core, used by ra,
# contract and enroll. Each module may include only the public headers of the modules
# below it; each third-party library enters through one module (libp11 and PKCS#11 only in hsm/,
# SQLite only in db/, Beast only in enroll/, qpdf only in contract/), and nothing above hsm/ sees more of it than the
# key-store seam (jitsuin/hsm/key_store.h), and for the token agent of enroll/ (`jitsuin token`) the
# applicant-token facade jitsuin/hsm/agent.h. Registered with CTest as `layering`.
#
# Usage: tests/layering.sh [SOURCE_DIR]      Exit 0 when every include is allowed, else 1.
set -euo pipefail
src="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
declare -A allowed=(
  [core]="core"
  [net]="core net"
  [config]="core config"
  [db]="core config db"
  [hsm]="core config hsm"
  [ca]="core config db ca hsm/key_store.h"
  [ra]="core config db ca ra net"
  [contract]="core config db ca contract hsm/key_store.h net"
  [enroll]="core config db ca ra contract api hsm/key_store.h hsm/agent.h net"
)
status=0
for module in core net config db hsm ca ra contract enroll; do
  while IFS= read -r hit; do
    file="${hit%%:*}"
    header="$(sed -E 's/.*#include ["<]jitsuin\/([^">]+)[">].*/\1/' <<<"${hit#*:*:}")"
    ok=0
    for a in ${allowed[$module]}; do
      if [[ "$a" == */* ]]; then [ "$header" = "$a" ] && ok=1; else [[ "$header" == "$a"/* ]] && ok=1; fi
    done
    if [ "$ok" = 0 ]; then
      echo "layering: $file includes jitsuin/$header, which $module/ may not (allowed: ${allowed[$module]})"
      status=1
    fi
  done < <(grep -rnE '#include ["<]jitsuin/' "$src/$module" --include='*.h' --include='*.cpp' | sed "s#^$src/##" || true)
done
# Third-party libraries, each through its one module.
check_only() {   # check_only PATTERN MODULE WHAT
  local hits
  hits="$(grep -rnE "$1" "$src"/{core,net,config,db,hsm,ca,ra,contract,enroll} --include='*.h' --include='*.cpp' | sed "s#^$src/##" |
          grep -v "^$2/" || true)"
  if [ -n "$hits" ]; then
    echo "layering: $3 outside $2/:"; echo "$hits"; status=1
  fi
}
check_only '#include [<"](libp11\.h|pkcs11\.h|p11-kit/)' hsm "libp11/PKCS#11"
check_only '#include [<"]jitsuin/hsm/(pkcs11|softhsm|uri)\.h' hsm "the PKCS#11 layer of hsm/"
check_only '^[^/]*(\bCK_[A-Z_]+\b|PKCS11_)' hsm "PKCS#11 types (in code)"
check_only '#include [<"]sqlite3\.h' db "SQLite"
check_only '#include [<"]boost/' enroll "Boost"
check_only '#include [<"]qpdf/' contract "qpdf"
check_only '#include [<"]curl/' net "libcurl"
[ "$status" = 0 ] && echo "layering: OK"
exit "$status"
