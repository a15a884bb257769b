#!/usr/bin/env python3
# CTest web_dictionaries: the committed dictionaries (enroll/web/common/i18n/{ja,en}.json) are what
# tests/web/dictionaries.py writes, both have the same keys, and every key a page names
# (data-i18n*="key") or a script asks for (t("key"), t(`prefix.${...}`)) is in them.
# Usage: check_dictionaries.py SOURCE_DIR
import json, pathlib, re, sys

src = pathlib.Path(sys.argv[1])
web = src / "enroll/web"
sys.path.insert(0, str(src / "tests/web"))
import dictionaries  # noqa: E402

failed = []
for i, lang in enumerate(("ja", "en")):
    have = json.loads((web / f"common/i18n/{lang}.json").read_text(encoding="utf-8"))
    want = {k: v[i] for k, v in dictionaries.S.items()}
    if have != want:
        failed.append(f"common/i18n/{lang}.json differs from tests/web/dictionaries.py (run it to write the file)")
keys = set(dictionaries.S)
used, prefixes = set(), set()
for f in web.rglob("*"):
    if f.suffix not in (".html", ".js"):
        continue
    text = f.read_text(encoding="utf-8")
    used |= {(m, f.name) for m in re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', text)}
    used |= {(m, f.name) for m in re.findall(r'\bt\("([^"]+)"', text)}
    prefixes |= {(m, f.name) for m in re.findall(r'\bt\(`([a-z_.]+)\$\{', text)}
    if re.search(r"<script(?![^>]*\bsrc=)", text) or re.search(r"\sstyle=|<style", text) or re.search(r"\son[a-z]+=", text):
        failed.append(f"{f.relative_to(src)}: inline script, style or event handler (the CSP forbids them)")
for key, where in sorted(used):
    if key not in keys:
        failed.append(f"{where}: no string '{key}' in the dictionaries")
for prefix, where in sorted(prefixes):
    if not any(k.startswith(prefix) for k in keys):
        failed.append(f"{where}: no string starting '{prefix}' in the dictionaries")
for line in failed:
    print("web_dictionaries: " + line, file=sys.stderr)
print(f"web_dictionaries: {len(keys)} strings, {len(used)} uses checked" + (", FAILED" if failed else ", ok"))
sys.exit(1 if failed else 0)
