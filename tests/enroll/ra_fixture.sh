# Sourced by the jitsuind shell tests that play the RA: the same people and papers for each.
# Needs $JITSUIN; works in the current folder. Sets today (in Japan, as the RA counts dates) and
# days_ago; ra_fixture_files writes the password files (admin.pw, suzuki.pw, takahashi.pw and the
# first passwords *.first), bundle.json (Sakura Kensetsu: Forms 1-4, Yamada's Form 5, Form 6,
# received today) and form5.json (Ito's Form 5, to add); ra_staff HOME makes the CA and the staff
# there with the CLI: admin (administrator), suzuki (operator), takahashi (approver, approved by CA
# custody), each with their own password set and logged out.
today="$(TZ=Asia/Tokyo date +%F)"
days_ago() { TZ=Asia/Tokyo date -d "$today -$1" +%F; }

ra_fixture_files() {
  local who
  printf '%s\n' "passphrase of admin, long enough" >admin.pw
  for who in suzuki takahashi; do
    printf '%s\n' "passphrase of $who, long enough" >"$who.pw"
    printf '%s\n' "first password for $who from admin" >"$who.first"
  done
  cat >bundle.json <<EOF
{"company": {"name": "桜建設株式会社", "name_kana": "サクラケンセツ", "name_romaji": "Sakura Kensetsu",
             "address": "東京都港区新橋1-1-1", "representative_name": "桜 一郎", "representative_title": "代表取締役"},
 "contract_kind": "new", "applied_by": "representative", "received_on": "$today", "seal_form": true,
 "applicant_list": true, "token_quantity": 2,
 "contacts": [{"role": "contact", "name": "連絡 花子", "department": "総務部", "email": "contact@sakura.example.jp"},
              {"role": "billing", "name": "請求 次郎", "department": "経理部", "email": "billing@sakura.example.jp"}],
 "applicants": [{"name_kanji": "山田 太郎", "name_kana": "ヤマダ タロウ", "name_romaji": "Taro Yamada",
                 "organization_romaji": "Sakura Kensetsu", "email": "taro.yamada@sakura.example.jp",
                 "postcode": "105-0004", "home_address": "東京都港区新橋2-6-2", "validity_years": 2}],
 "users": [{"name": "山田 太郎", "department": "工事部", "email": "taro.yamada@sakura.example.jp"}]}
EOF
  cat >form5.json <<'EOF'
{"name_kanji": "伊藤 花子", "name_kana": "イトウ ハナコ", "name_romaji": "Hanako Ito",
 "organization_romaji": "Sakura Kensetsu", "email": "hanako.ito@sakura.example.jp", "postcode": "150-0002",
 "home_address": "東京都渋谷区渋谷3-1-1", "validity_years": 1}
EOF
}

ra_staff() {
  local home="$1" who
  "$JITSUIN" --home "$home" ca init >/dev/null
  JITSUIN_SESSION_FILE="$home.admin" "$JITSUIN" --home "$home" ra operator-add --name admin --role administrator \
    --password-file admin.pw >/dev/null
  JITSUIN_SESSION_FILE="$home.admin" "$JITSUIN" --home "$home" login --user admin --password-file admin.pw >/dev/null
  JITSUIN_SESSION_FILE="$home.admin" "$JITSUIN" --home "$home" ra operator-add --name suzuki --role operator \
    --display-name "鈴木 一郎" --password-file suzuki.first >/dev/null
  JITSUIN_SESSION_FILE="$home.admin" "$JITSUIN" --home "$home" ra operator-add --name takahashi --role approver \
    --display-name "高橋 次郎" --password-file takahashi.first >/dev/null
  JITSUIN_SESSION_FILE="$home.admin" "$JITSUIN" --home "$home" logout >/dev/null
  "$JITSUIN" --home "$home" ra operator-approve --name takahashi --ca-custody --pin-file "$home/ca.so-pin" >/dev/null
  for who in suzuki takahashi; do
    JITSUIN_SESSION_FILE="$home.$who" "$JITSUIN" --home "$home" login --user "$who" --password-file "$who.first" >/dev/null
    JITSUIN_SESSION_FILE="$home.$who" "$JITSUIN" --home "$home" ra passwd --current-file "$who.first" \
      --new-file "$who.pw" >/dev/null
    JITSUIN_SESSION_FILE="$home.$who" "$JITSUIN" --home "$home" logout >/dev/null
  done
}
