#!/usr/bin/python3
"""The browser consoles, driven in headless Chromium (Debian's chromium + chromium-driver, Selenium).

Started by tests/web/web_test.sh with a JSON file naming the running jitsuind, its CA root, the
home and the fixture's bundles. The CA root is trusted in a profile of its own (an NSS database
under a private HOME), so the browser checks the server's certificate as any browser would.
Every page visited is screenshotted into the artifacts folder and smoke-checked for
accessibility: a title, exactly one h1, a label for every form control, a visible focus.
"""
import base64
import email
import email.policy
import http.client
import http.server
import json
import os
import pathlib
import re
import ssl
import subprocess
import sys
import threading
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

cfg = json.loads(pathlib.Path(sys.argv[1]).read_text())
URL = cfg["url"]
WORK = pathlib.Path(cfg["work"])
ART = pathlib.Path(cfg["artifacts"])
HOST, PORT = URL.removeprefix("https://").split(":")
PORT = int(PORT)
TLS = ssl.create_default_context(cafile=cfg["root"])
passed = []
issued_pin = {}   # application -> the PIN the console showed, for the applicant's status page


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    passed.append(what)
    print(f"ok: {what}", flush=True)


def secret(name):
    return (WORK / name).read_text().strip()


# ------------------------------------------------------------------ plain HTTPS (no browser)

def request(method, path, body=None, headers=None):
    conn = http.client.HTTPSConnection(HOST, PORT, context=TLS, timeout=30)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=h)
    res = conn.getresponse()
    payload = res.read()
    conn.close()
    return res.status, {k.lower(): v for k, v in res.getheaders()}, payload, res.msg.get_all("Set-Cookie") or []


def http_checks():
    status, h, body, _ = request("GET", "/ra/login.html")
    check(status == 200 and h["content-type"].startswith("text/html"), "GET /ra/login.html: 200 text/html")
    csp = h.get("content-security-policy", "")
    check("default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
          and "script-src 'self'" in csp, f"Content-Security-Policy without unsafe-inline: {csp}")
    check(h.get("x-content-type-options") == "nosniff" and h.get("referrer-policy") == "no-referrer",
          "X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer")
    etag = h["etag"]
    status, _, _, _ = request("GET", "/ra/login.html", headers={"If-None-Match": etag})
    check(status == 304, "If-None-Match with the ETag: 304")
    for path, ctype in [("/common/page.js", "text/javascript"), ("/common/style.css", "text/css"),
                        ("/common/i18n/ja.json", "application/json")]:
        status, h, _, _ = request("GET", path)
        check(status == 200 and h["content-type"].startswith(ctype), f"GET {path}: {ctype}")
    status, h, _, _ = request("GET", "/ra")
    check(status == 301 and h["location"] == "/ra/", "GET /ra: 301 to /ra/")
    status, _, body, _ = request("GET", "/ra/")
    check(status == 200 and b'id="applications"' in body, "GET /ra/ is the console's index.html")
    for path in ["/common/i18n/", "/common/", "/ra/../../etc/passwd", "/ra/%2e%2e/%2e%2e/etc/passwd",
                 "/ra/..%2fweb_test.json", "/enroll/nothing.html", "/common/i18n"]:
        status, _, body, _ = request("GET", path)
        check(status in (301, 404) and b"root:" not in body, f"GET {path}: {status}, no listing, no traversal")
    status, _, _, _ = request("POST", "/ra/login.html", body={})
    check(status == 405, "POST to a page: 405")

    # The login route: JSON only, from this origin only; the token only in the cookie.
    creds = {"kind": "operator", "user": "suzuki", "password": secret("suzuki.pw")}
    status, _, _, _ = request("POST", "/web/login", body="kind=operator&user=suzuki",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(status == 403, "a form-encoded (cross-site form) login: 403")
    status, _, _, _ = request("POST", "/web/login", body=creds, headers={"Origin": "https://evil.example"})
    check(status == 403, "a login from another origin: 403")
    status, _, body, cookies = request("POST", "/web/login", body=creds)
    j = json.loads(body)
    check(status == 200 and "token" not in j and len(j["csrf_token"]) == 64, "login: 200, no token in the body, a CSRF token")
    cookie = next(c for c in cookies if c.startswith("__Host-jitsuin="))
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"]:
        check(attr in [p.strip() for p in cookie.split(";")], f"session cookie has {attr}")
    jar = cookie.split(";")[0]
    status, _, body, _ = request("POST", "/api/v1/ra.whoami", body={}, headers={"Cookie": jar})
    check(status == 403 and b"CSRF" in body, "cookie API call without X-CSRF-Token: 403")
    status, _, body, _ = request("POST", "/api/v1/ra.whoami", body={}, headers={"Cookie": jar, "X-CSRF-Token": "0" * 64})
    check(status == 403, "cookie API call with a wrong X-CSRF-Token: 403")
    status, h, body, _ = request("POST", "/api/v1/ra.whoami", body={},
                                 headers={"Cookie": jar, "X-CSRF-Token": j["csrf_token"]})
    check(status == 200 and json.loads(body)["name"] == "suzuki" and "content-security-policy" in h,
          "cookie API call with the session's X-CSRF-Token: 200 as suzuki")
    status, _, body, _ = request("POST", "/api/v1/ra.whoami", body={},
                                 headers={"Cookie": jar, "X-CSRF-Token": j["csrf_token"], "Origin": "https://evil.example"})
    check(status == 403, "cookie API call with the right token from another Origin: 403")
    status, _, body, _ = request("POST", "/api/v1/ra.whoami", body={})
    check(status == 401 and b"no session token" in body, "no cookie, no bearer: 401 as before")
    status, _, body, cookies = request("POST", "/web/logout", body={}, headers={"Cookie": jar, "X-CSRF-Token": j["csrf_token"]})
    check(status == 200 and any("Max-Age=0" in c for c in cookies), "logout: 200, cookie cleared")
    status, _, _, _ = request("POST", "/api/v1/ra.whoami", body={}, headers={"Cookie": jar, "X-CSRF-Token": j["csrf_token"]})
    check(status == 401, "the logged-out cookie: 401")


# ------------------------------------------------------------------ the browser

def trust_root(home):
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "jitsuin test root", "-t", "C,,", "-i", cfg["root"]],
                   check=True)


def browser(name):
    home = WORK / f"browser-{name}"
    trust_root(home)
    downloads = home / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
              f"--user-data-dir={home / 'profile'}", "--lang=ja"]:
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    env = dict(os.environ, HOME=str(home))
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env=env), options=opts)
    d.downloads = downloads
    return d


def wait(d, cond, what, timeout=20):
    try:
        return WebDriverWait(d, timeout).until(lambda _: cond())
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what} on {d.current_url}: {d.find_element(By.TAG_NAME, 'body').text[:800]}")


def ready(d):
    # initPage sets the title from the dictionary once the page's strings are in, and builds the
    # header (who is logged in) once the session is known: both, or a check may read the header early.
    wait(d, lambda: d.title.endswith("— jitsuin") and d.execute_script("return !!document.querySelector('header.top .brand')"),
         "the page to set itself up")


def go(d, path):
    d.get(URL + path)
    ready(d)


def text(d, css):
    return d.find_element(By.CSS_SELECTOR, css).text


def message(d, kind=None):
    def current():
        m = d.find_element(By.ID, "message")
        return m.text if m.text and (kind is None or kind in m.get_attribute("class")) else None
    return wait(d, current, f"a {kind or ''} message")


A11Y = """
const problems = [];
if (!document.title.trim()) problems.push('no title');
const h1 = document.querySelectorAll('h1');
if (h1.length !== 1) problems.push(h1.length + ' h1 elements');
for (const c of document.querySelectorAll('input, select, textarea')) {
  if (c.type === 'hidden') continue;
  const named = (c.labels && c.labels.length) || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby');
  if (!named) problems.push('no label for ' + (c.id || c.name || c.outerHTML.slice(0, 60)));
}
return problems;
"""


def page_checks(d, name):
    d.save_screenshot(str(ART / f"{name}.png"))
    problems = d.execute_script(A11Y)
    check(not problems, f"{name}: title, one h1, every control labelled {problems or ''}")
    # 200 % zoom: the layout of a 1280-pixel window at 200 % is that of a 640-pixel one. No
    # horizontal scrolling of the page (wide tables scroll inside their own box).
    size = d.get_window_size()
    d.set_window_size(640, size["height"])
    wide = d.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    d.save_screenshot(str(ART / f"{name}-zoom200.png"))
    d.set_window_size(size["width"], size["height"])
    check(wide[0] <= wide[1], f"{name}: readable at 200 % zoom without horizontal scrolling {wide}")
    # Keyboard focus: a click on the heading (not focusable) moves the starting point of keyboard
    # navigation there; Tab then lands on the next control, which must show a visible outline.
    d.find_element(By.TAG_NAME, "h1").click()
    webdriver.ActionChains(d).send_keys(Keys.TAB).perform()
    style = d.execute_script("const s = getComputedStyle(document.activeElement);"
                             "return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth];")
    check(style[0] != "BODY" and style[1] != "none" and style[2] != "0px", f"{name}: keyboard focus visible {style}")


def company_password(cid, mailed):
    """A company ID's password: its own once its admin set one (acctpw), else the mailed one."""
    f = WORK / "company-passwords.json"
    return json.loads(f.read_text()).get(cid, mailed) if f.exists() else mailed


def login(d, kind, user, password, expect_path):
    if kind == "company":
        password = company_password(user, password)
    go(d, "/company/login.html" if kind == "company" else "/ra/login.html")
    d.find_element(By.ID, "id").send_keys(user)
    d.find_element(By.ID, "password").send_keys(password + Keys.ENTER)
    forced = "/company/password.html"
    wait(d, lambda: d.current_url.split("?")[0].endswith((expect_path, forced)), f"{user} to land on {expect_path}")
    if kind == "company" and d.current_url.split("?")[0].endswith(forced):
        # acctpw (issue 20 item 6): the mailed initial password allows only the password change:
        # the page shows the form and no menu, and every other page comes back here.
        ready(d)
        check(d.find_elements(By.CSS_SELECTOR, "header nav") == [] and
              d.find_element(By.ID, "password-initial").is_displayed(),
              f"{user}: the first login with the mailed password shows only the password form")
        go(d, "/company/")
        wait(d, lambda: d.current_url.split("?")[0].endswith(forced), "another page sends it back to the password form")
        ready(d)
        own = f"{user} own password"
        d.find_element(By.ID, "current").send_keys(password)
        d.find_element(By.ID, "new").send_keys(own)
        d.find_element(By.ID, "again").send_keys(own + Keys.ENTER)
        wait(d, lambda: d.current_url.split("?")[0].endswith(expect_path), f"{user} to land on {expect_path} after the change")
        f = WORK / "company-passwords.json"
        known = json.loads(f.read_text()) if f.exists() else {}
        known[user] = own
        f.write_text(json.dumps(known))
    wait(d, lambda: d.current_url.split("?")[0].endswith(expect_path), f"{user} to land on {expect_path}")
    ready(d)


def page_api(d, name, body, csrf="session"):
    """A call made by script in the page: with the session's CSRF token, none, or a wrong one."""
    return d.execute_async_script("""
const [name, body, mode, done] = arguments;
(async () => {
  const s = await (await fetch('/web/session')).json();
  const headers = {'Content-Type': 'application/json'};
  if (mode === 'session') headers['X-CSRF-Token'] = s.csrf_token;
  if (mode === 'wrong') headers['X-CSRF-Token'] = 'f'.repeat(64);
  const r = await fetch('/api/v1/' + name, {method: 'POST', headers, body: JSON.stringify(body)});
  done({status: r.status, body: await r.json()});
})().catch(e => done({status: 0, body: String(e)}));
""", name, body, csrf)


def set_value(d, el_id, value):
    d.execute_script("arguments[0].value = arguments[1]", d.find_element(By.ID, el_id), value)


def app_state(d, app):
    return page_api(d, "ra.application.show", {"id": app})["body"]["state"]


def first_login():
    d = browser("sato")
    try:
        login(d, "operator", "sato", secret("sato.first"), "/ra/password.html")
        check(True, "a temporary password lands on the password change page")
        page_checks(d, "ra-password")
        go(d, "/ra/")
        wait(d, lambda: d.current_url.endswith("/ra/password.html"), "the console to send sato back to the password change")
        ready(d)
        d.find_element(By.ID, "current").send_keys(secret("sato.first"))
        d.find_element(By.ID, "new").send_keys(secret("sato.pw"))
        d.find_element(By.ID, "again").send_keys(secret("sato.pw") + Keys.ENTER)
        wait(d, lambda: d.current_url.endswith("/ra/"), "the console after the password change")
        ready(d)
        check("sato" in text(d, "#who"), "after the change sato works in the console")
    finally:
        d.quit()


def administrator():
    d = browser("admin")
    try:
        login(d, "operator", "admin", secret("admin.pw"), "/ra/")
        go(d, "/ra/operators.html")
        wait(d, lambda: "takahashi" in text(d, "#operators"), "the operator list")
        page_checks(d, "ra-operators")
        d.find_element(By.ID, "op-name").send_keys("ito")
        d.find_element(By.ID, "op-display").send_keys("伊藤 四郎")
        d.find_element(By.ID, "op-password").send_keys("first password for ito from admin")
        d.find_element(By.ID, "op-submit").click()
        message(d, "ok")
        wait(d, lambda: "ito" in text(d, "#operators"), "the new operator in the list")
        row = next(r for r in d.find_elements(By.CSS_SELECTOR, "#operators tbody tr") if r.text.startswith("ito"))
        check("仮パスワード" in row.text and "オペレータ" in row.text,
              "an administrator adds an operator in the console: listed with a temporary password")
        d.find_element(By.ID, "op-disable-admin").click()
        m = message(d, "error")
        check("last administrator" in m, f"disabling the last administrator is refused with the server's reason: {m}")
        d.find_element(By.ID, "logout").click()
        wait(d, lambda: d.current_url.endswith("/ra/login.html"), "the admin's logout")
    finally:
        d.quit()


def operator_day():
    app1, app2, bundle1 = cfg["app1"], cfg["app2"], cfg["bundle1"]
    suzuki = browser("suzuki")
    takahashi = browser("takahashi")
    try:
        # Suzuki (operator) records the public documents of bundle 1 and runs the check.
        d = suzuki
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        wait(d, lambda: str(app1) in text(d, "#applications"), "the application list")
        check(text(d, "h1") == "申請の検索", "the console is Japanese by default")
        check("山田 太郎" in text(d, "#applications") and "ヤマダ タロウ" in text(d, "#applications"),
              "names in kanji with kana in the list")
        page_checks(d, "ra-applications")
        d.find_element(By.ID, "f-applicant").send_keys("梅田")
        d.find_element(By.ID, "search-submit").click()
        wait(d, lambda: "梅田 一夫" in text(d, "#applications") and "山田" not in text(d, "#applications"),
             "the search by applicant")
        check(True, "search by applicant finds only 梅田")
        go(d, f"/ra/bundle.html?id={bundle1}")
        wait(d, lambda: "山田 太郎" in text(d, "#bundle-apps"), "the bundle")
        d.find_element(By.ID, "run-check").click()
        message(d, "error")
        check("不足書類" in text(d, "#reasons"), "the check lists the missing documents in Japanese")
        page_checks(d, "ra-bundle-incomplete")

        def add_document(kind, issued, applicant=False):
            from selenium.webdriver.support.ui import Select
            Select(d.find_element(By.ID, "doc-kind")).select_by_value(kind)
            Select(d.find_element(By.ID, "doc-app")).select_by_index(1 if applicant else 0)
            set_value(d, "doc-issued", issued)
            d.find_element(By.ID, "doc-submit").click()
            message(d, "ok")
            d.execute_script("document.getElementById('message').className = 'message'; "
                             "document.getElementById('message').textContent = ''")

        add_document("registration_current", cfg["days_ago_10"])
        add_document("representative_seal", cfg["days_ago_10"])
        add_document("residence_record", cfg["days_ago_4_months"], applicant=True)
        add_document("personal_seal", cfg["days_ago_10"], applicant=True)
        d.find_element(By.ID, "run-check").click()
        message(d, "error")
        check("住民票" in text(d, "#reasons") and app_state(d, app1) == "incomplete",
              "a residence record 4 months old is stale: the reason shown, the application incomplete")
        d.find_element(By.ID, "resubmit").click()
        message(d, "ok")
        add_document("residence_record", cfg["days_ago_3"], applicant=True)
        d.find_element(By.ID, "run-check").click()
        message(d, "ok")
        check(app_state(d, app1) == "checked", "after the fresh residence record the application is checked")
        page_checks(d, "ra-bundle-checked")

        # Takahashi (approver) sees the two-person rule, approves suzuki's entry, is refused his own.
        t = takahashi
        login(t, "operator", "takahashi", secret("takahashi.pw"), "/ra/")
        go(t, f"/ra/application.html?id={app1}")
        wait(t, lambda: text(t, "#entered-by") == "suzuki", "who entered application 1")
        check(text(t, "#checked-by") == "suzuki" and "承認できます" in text(t, "#may-approve"),
              "the two-person panel: entered and checked by suzuki, takahashi may approve")
        page_checks(t, "ra-application-checked")
        t.find_element(By.ID, "approve").click()
        message(t, "ok")
        check(app_state(t, app1) == "approved" and text(t, "#approved-by") == "takahashi", "takahashi approved application 1")
        go(t, f"/ra/application.html?id={app2}")
        wait(t, lambda: text(t, "#entered-by") == "takahashi", "who entered application 2")
        check("二者承認" in text(t, "#may-approve"), "the page says takahashi may not approve his own entry")
        t.find_element(By.ID, "approve").click()
        m = message(t, "error")
        check("two-person rule" in m and app_state(t, app2) == "checked",
              f"approving his own entry is refused in the page with the server's reason: {m}")
        page_checks(t, "ra-application-refused")

        # CSRF: the page's own script without the token, with a wrong one, and a form from another site.
        r = page_api(t, "ra.reject", {"application": app2, "reason": "forged"}, csrf="none")
        check(r["status"] == 403, "a state-changing call without X-CSRF-Token: 403")
        r = page_api(t, "ra.reject", {"application": app2, "reason": "forged"}, csrf="wrong")
        check(r["status"] == 403, "with a wrong X-CSRF-Token: 403")
        forged = cross_site_post(t, "/api/v1/ra.reject", {"application": app2, "reason": "forged"})
        check(app_state(t, app2) == "checked", f"a form posted from another site changes nothing ({forged})")

        # Suzuki issues the PIN and downloads the approval notice; records the restricted-delivery mail.
        go(d, f"/ra/application.html?id={app1}")
        wait(d, lambda: d.find_element(By.ID, "issue-pin").is_displayed(), "the PIN button")
        d.find_element(By.ID, "issue-pin").click()
        message(d, "ok")
        pin = text(d, "#pin-value")
        issued_pin[app1] = pin
        check(re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", pin) is not None, "the PIN is shown once in the page")
        page_checks(d, "ra-application-pin")
        d.find_element(By.ID, "letter-link").click()
        pdf = d.downloads / f"approval-notice-{app1}.pdf"
        wait(d, lambda: pdf.exists() and pdf.stat().st_size > 0, "the letter download")
        letter = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        check("山田" in letter and pin.replace("-", "") in letter.replace(" ", "").replace("-", "").replace("\n", ""),
              "the downloaded letter (pdftotext) names 山田 and holds the PIN")
        d.find_element(By.ID, "tracking").send_keys("1234-5678-9012")
        d.find_element(By.ID, "mail-sent-submit").click()
        message(d, "ok")
        check(app_state(d, app1) == "notice_mailed" and "1234" in text(d, "#mailings"),
              "the tracking number recorded: notice mailed")
        d.find_element(By.ID, "event-tracking").send_keys("1234-5678-9012")
        d.find_element(By.ID, "mail-event-submit").click()
        message(d, "ok")
        check("配達済" in text(d, "#mailings"), "the delivery recorded")
        page_checks(d, "ra-application-mailed")

        # English.
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        wait(d, lambda: "Certificate application" in text(d, "h1"), "the English page")
        check("delivered" in text(d, "#mailings") and d.execute_script("return document.documentElement.lang") == "en",
              "the English switch: strings and lang=en")
        page_checks(d, "ra-application-en")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)

        # The company's IDs, issued from the bundle (RA-9), for the company-admin part.
        r = page_api(d, "ra.accounts.issue", {"bundle": bundle1})
        check(r["status"] == 200, f"company and user IDs issued: {r}")

        # Revocation page renders (requests need an issued certificate).
        go(d, "/ra/revocations.html")
        page_checks(d, "ra-revocations")

        # Log out everywhere: a CLI-style bearer session of suzuki ends too.
        status, _, body, _ = request("POST", "/api/v1/session.login", body={"user": "suzuki", "password": secret("suzuki.pw")})
        bearer = json.loads(body)["token"]
        d.find_element(By.ID, "logout-all").click()
        wait(d, lambda: d.current_url.endswith("/ra/login.html"), "the login page after logging out everywhere")
        status, _, _, _ = request("POST", "/api/v1/ra.whoami", body={}, headers={"Authorization": f"Bearer {bearer}"})
        check(status == 401, "log out everywhere ends suzuki's other sessions (a bearer token: 401)")
        go(d, "/ra/")
        wait(d, lambda: d.current_url.endswith("/ra/login.html"), "the console to ask for a login again")
        page_checks(d, "ra-login")

        t.find_element(By.ID, "logout").click()
        wait(t, lambda: t.current_url.endswith("/ra/login.html"), "takahashi's logout")
    finally:
        suzuki.quit()
        takahashi.quit()


def cross_site_post(d, path, body):
    """A page on another origin (http://localhost:PORT, a different site) that posts a form to the
    API (text/plain, so that the body is JSON). SameSite=Strict keeps the cookie home; there is no
    CSRF header either. Returns what the browser shows after the post."""
    # text/plain sends name=value: the JSON's last string swallows the "=".
    name = json.dumps(body, ensure_ascii=True)[:-2]
    page = f"""<!doctype html><title>evil</title>
<form id=f method=POST enctype=text/plain action="{URL}{path}"><input name='{name}' value='"}}'></form>
<script>document.getElementById('f').submit()</script>"""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        d.get(f"http://localhost:{server.server_port}/")
        wait(d, lambda: d.current_url.startswith(URL), "the forged post to arrive")
        shown = d.find_element(By.TAG_NAME, "body").text
        d.save_screenshot(str(ART / "csrf-forged-post.png"))
    finally:
        server.shutdown()
    check('"error"' in shown, f"the forged cross-site form post is refused: {shown.strip()}")
    d.back()
    return shown.strip()


def mailed_password(to):
    maildir = pathlib.Path(cfg["home"]) / "maildir" / "new"
    def find():
        for f in sorted(maildir.glob("*")) if maildir.exists() else []:
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            body = msg.get_content()
            if to in str(msg["To"]) and "初期パスワード" in body:
                # The company admin's own mail: its login ID is the "ユーザID" line.
                cid = re.search(r"ユーザID: (C\S+)", body)
                if cid:
                    return cid.group(1), re.search(r"初期パスワード: (.+)", body).group(1).strip()
        return None
    for _ in range(600):
        r = find()
        if r:
            return r
        time.sleep(0.1)
    raise AssertionError(f"no user-ID mail to {to} in {maildir}")


def wait_for_mail(to, marker, pattern):
    maildir = pathlib.Path(cfg["home"]) / "maildir" / "new"
    for _ in range(600):
        for f in sorted(maildir.glob("*")) if maildir.exists() else []:
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            body = msg.get_content()
            if to in str(msg["To"]) and marker in str(msg["Subject"]) + body:
                m = re.search(pattern, body)
                if m:
                    return m.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no mail '{marker}' to {to} in {maildir}")


def enrollment():
    """The applicant's enrollment (issue 10's API), as `jitsuin token enroll` makes it, with the PIN
    the console issued and a key made by openssl: the company admin then sees the certificate."""
    app1 = cfg["app1"]
    key, csr = WORK / "applicant.key", WORK / "applicant.csr"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-new", "-key", str(key), "-subj", "/CN=ignored", "-out", str(csr)],
                   check=True, capture_output=True)
    status, _, body, _ = request("POST", "/api/v1/enroll.start", body={
        "application_id": app1, "application_pin": issued_pin[app1], "csr": csr.read_text()})
    check(status == 200, f"enroll.start with the console's PIN: {body[:200]}")
    pin = wait_for_mail("taro.yamada@sakura.example.jp", "ダウンロードPIN", r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}")
    status, _, body, _ = request("POST", "/api/v1/enroll.collect", body={"application_id": app1, "download_pin": pin})
    j = json.loads(body)
    check(status == 200 and j["serial"], f"enroll.collect: certificate {j.get('serial')}")
    (WORK / "applicant.pem").write_text(j["certificate"])
    (WORK / "issuing.pem").write_text(j["chain"][0])
    (WORK / "root.pem").write_text(j["chain"][1])
    issued_pin["serial"] = j["serial"]


def revocation():
    """Suzuki records a revocation request (key compromise: effective at once), takahashi approves it
    in his console; OCSP then says revoked (openssl ocsp)."""
    serial = issued_pin["serial"]
    suzuki, takahashi = browser("suzuki2"), browser("takahashi2")
    try:
        d = suzuki
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        go(d, f"/ra/application.html?id={cfg['app1']}")
        wait(d, lambda: "使用済" in text(d, "#download-pins"), "the download PIN in the RA's view")
        check(text(d, "#app-state") == "発行済",
              "the RA console shows the enrollment: issued, the download PIN used (never the PIN itself)")
        page_checks(d, "ra-application-issued")
        go(d, "/ra/revocations.html")
        d.find_element(By.ID, "rev-serial").send_keys(serial)
        from selenium.webdriver.support.ui import Select
        Select(d.find_element(By.ID, "rev-reason")).select_by_value("keyCompromise")
        d.find_element(By.ID, "rev-note").send_keys("eToken lost")
        d.find_element(By.ID, "rev-submit").click()
        message(d, "ok")
        rid = page_api(d, "ra.revocation.list", {})["body"]["entries"][0]["id"]
        d.find_element(By.ID, f"rev-approve-{rid}").click()
        m = message(d, "error")
        check("suzuki" in m and "approve" in m, f"suzuki (an operator) may not approve: refused in the page: {m}")
        page_checks(d, "ra-revocation-requested")
        t = takahashi
        login(t, "operator", "takahashi", secret("takahashi.pw"), "/ra/")
        go(t, "/ra/revocations.html")
        wait(t, lambda: serial.lower() in text(t, "#revocations").lower(), "the request in takahashi's list")
        t.find_element(By.ID, f"rev-approve-{rid}").click()
        message(t, "ok")
        check(page_api(t, "ra.revocation.list", {})["body"]["entries"][0]["state"] == "revoked",
              "a second operator approves: the certificate is revoked")
        page_checks(t, "ra-revocation-approved")
    finally:
        suzuki.quit()
        takahashi.quit()
    out = ""
    for _ in range(100):
        r = subprocess.run(["openssl", "ocsp", "-issuer", str(WORK / "issuing.pem"), "-cert", str(WORK / "applicant.pem"),
                            "-url", cfg["http_url"] + "/ocsp", "-CAfile", str(WORK / "root.pem")],
                           capture_output=True, text=True)
        out = r.stdout + r.stderr
        if "applicant.pem: revoked" in out:
            break
        time.sleep(0.2)
    check("applicant.pem: revoked" in out and "Response verify OK" in out, f"OCSP (openssl ocsp) says revoked: {out.strip()}")


def company_admin():
    cid, password = mailed_password("contact@sakura.example.jp")
    d = browser("company")
    try:
        login(d, "company", cid, password, "/company/")
        wait(d, lambda: "山田 太郎" in text(d, "#users"), "the company's users")
        check("梅田" not in d.find_element(By.TAG_NAME, "body").text, "nothing of the other company is visible")
        r = page_api(d, "ra.application.list", {})
        check(r["status"] == 403, "a company admin's cookie cannot call the operators' API (403)")
        page_checks(d, "company-home")
        dept = d.find_element(By.ID, "r-dept")
        dept.send_keys("本社")
        wait(d, lambda: "ローマ字" in text(d, "#e-department_romaji"), "the romaji error as typed")
        check(dept.get_attribute("aria-invalid") == "true", "the romaji rule is checked as typed (本社 refused)")
        d.save_screenshot(str(ART / "company-romaji-error.png"))
        dept.clear()
        dept.send_keys("honsha")
        wait(d, lambda: text(d, "#e-department_romaji") == "", "the error to go")
        org = d.find_element(By.ID, "r-org")
        org.send_keys("Sakura Kensetsu Co. Ltd.")
        wait(d, lambda: "企業形態" in text(d, "#e-organization_romaji"), "the company-form rule")
        check(True, "the company form (Co. Ltd.) is refused as typed")
        org.clear()
        org.send_keys("Sakura Kensetsu")
        fields = {"r-name-kanji": "伊藤 花子", "r-name-kana": "イトウ ハナコ", "r-name-romaji": "Hanako Ito",
                  "r-title": "shacho", "r-email": "pin@sakura.example.jp", "r-postcode": "150-0002",
                  "r-address": "東京都渋谷区渋谷3-1-1"}
        for k, v in fields.items():
            d.find_element(By.ID, k).send_keys(v)
        d.find_element(By.ID, "request-submit").click()
        message(d, "ok")
        wait(d, lambda: "伊藤 花子" in text(d, "#requests"), "the request in the list")
        check(True, "the additional certificate request is received and listed")
        page_checks(d, "company-requested")
        # Link the issued certificate to 山田's user ID, through the validity confirmation step.
        serial = issued_pin["serial"]
        wait(d, lambda: serial.lower() in text(d, "#certificates").lower(), "the issued certificate in the list")
        check("有効" in text(d, "#certificates"), "the company's certificate is listed as valid")
        from selenium.webdriver.support.ui import Select
        option = next(o for o in d.find_elements(By.CSS_SELECTOR, "#l-serial option")
                      if o.get_attribute("value").lower() == serial.lower())
        Select(d.find_element(By.ID, "l-serial")).select_by_value(option.get_attribute("value"))
        Select(d.find_element(By.ID, "l-action")).select_by_value("unlink")
        d.find_element(By.ID, "link-check").click()
        wait(d, lambda: d.find_element(By.ID, "link-confirm").is_displayed(), "the confirmation step")
        d.find_element(By.ID, "link-confirm-button").click()
        m = message(d, "error")
        check(m != "", f"unlinking a certificate that is not linked: the server's refusal shown: {m}")
        Select(d.find_element(By.ID, "l-action")).select_by_value("link")
        d.find_element(By.ID, "link-check").click()
        wait(d, lambda: "有効" in text(d, "#confirm-status"), "the validity in the confirmation step")
        page_checks(d, "company-link-confirm")
        d.find_element(By.ID, "link-confirm-button").click()
        message(d, "ok")
        wait(d, lambda: serial.lower() in text(d, "#users").lower(), "the link in the users table")
        check(True, "a company admin links the certificate to a user ID after the validity confirmation")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        check(text(d, "h1") == "Users and certificates", "the company pages in English")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        d.find_element(By.ID, "logout").click()
        wait(d, lambda: d.current_url.endswith("/company/login.html"), "the company login page after logout")
        page_checks(d, "company-login")
    finally:
        d.quit()


def applicant_pages():
    d = browser("applicant")
    try:
        for path, name, ja, en in [("/enroll/", "enroll-guide", "電子証明書の取得手順", "How to get your certificate"),
                                   ("/enroll/faq.html", "enroll-faq", "よくある質問", "Frequently asked questions"),
                                   ("/enroll/status.html", "enroll-status", "申請状況の確認", "Application status")]:
            go(d, path)
            check(text(d, "h1") == ja, f"{path} in Japanese")
            page_checks(d, name)
            d.find_element(By.ID, "lang-switch").click()
            ready(d)
            check(text(d, "h1") == en, f"{path} in English")
            page_checks(d, name + "-en")
            d.find_element(By.ID, "lang-switch").click()
            ready(d)
        # The status of an application (enroll.status), with the PIN the console issued.
        app1 = cfg["app1"]
        go(d, "/enroll/status.html")
        d.find_element(By.ID, "application").send_keys(str(app1))
        d.find_element(By.ID, "pin").send_keys("AAAA-AAAA-AAAA-AAAA" + Keys.ENTER)
        m = message(d, "error")
        check("残り" in m, f"a wrong application PIN: the message says how many tries are left: {m}")
        d.find_element(By.ID, "pin").clear()
        d.find_element(By.ID, "pin").send_keys(issued_pin[app1] + Keys.ENTER)
        wait(d, lambda: d.find_element(By.ID, "status-result").is_displayed(), "the status")
        check(text(d, "#status-state") != "" and text(d, "#status-next") != "",
              f"the application's status after ID and PIN: {text(d, '#status-state')} / {text(d, '#status-next')}")
        page_checks(d, "enroll-status-result")
    finally:
        d.quit()


# ---- smime
def smime_coupon_page():
    """Seed 004: a coupon holder applies at /enroll/smime.html (ja default, en switch): the address
    typed twice, a used coupon refused with its message, then a re-issue with it."""
    d = browser("smime-operator")
    try:
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        r = page_api(d, "ra.smime_order.create", {"ordered_by": "Browser Buyer", "delivery_email": "buyer@example.jp",
                                                  "quantity": 1})
        check(r["status"] == 200 and len(r["body"]["codes"]) == 1, f"an S/MIME coupon order: {r['status']}")
        code = r["body"]["codes"][0]
    finally:
        d.quit()
    d = browser("smime")
    try:
        go(d, "/enroll/smime.html")
        check(text(d, "h1") == "S/MIME証明書の申請(クーポン)", "/enroll/smime.html in Japanese")
        check("S/MIME証明書の申請" in text(d, "header.top nav"), "the applicant's menu names the S/MIME page")
        page_checks(d, "enroll-smime")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        check(text(d, "h1") == "S/MIME certificate application (coupon)", "/enroll/smime.html in English")
        page_checks(d, "enroll-smime-en")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)

        def fill(email2):
            for el_id, value in [("coupon", code), ("name_romaji", "Saburo Kato"), ("name", "加藤 三郎"),
                                 ("email", "saburo@example.jp"), ("email2", email2)]:
                d.find_element(By.ID, el_id).clear()
                d.find_element(By.ID, el_id).send_keys(value)
            d.find_element(By.ID, "smime-submit").click()
        fill("saburo@exmaple.jp")
        check("一致しません" in message(d, "error"), "two different addresses are caught on the page")
        fill("saburo@example.jp")
        wait(d, lambda: d.find_element(By.ID, "smime-result").is_displayed(), "the application's receipt")
        app = int(text(d, "#smime-application"))
        check("15分" in message(d, "ok") and "s***@example.jp" in text(d, "#smime-facts"),
              f"smime.apply from the page: application {app}, PIN mail about 15 minutes later to s***@example.jp")
        page_checks(d, "enroll-smime-result")
        fill("saburo@example.jp")
        check("使用済み" in message(d, "error"), "the used coupon is refused with the seed's advice (re-issue)")
        d.find_element(By.ID, "kind-reissue").click()
        check(d.find_element(By.ID, "reissue-note").is_displayed(), "the re-issue explains what happens to the old certificate")
        fill("saburo@example.jp")
        check("再発行" in message(d, "ok"), "the re-issue's receipt")
        check(int(text(d, "#smime-application")) > app, "smime.reissue from the page: a new application")
    finally:
        d.quit()


# ---- webra (issue 11): a paper bundle entered in the browser only (Forms 1-6 and the public
# documents), a stale paper flagged with its reason and fixed, a second operator's approval and the
# PIN; a PIN re-issue by two people and a download-PIN re-issue; an expiry notice and a renewal
# created from the console's expiry list.
webra = {}


def webra_type(d, values):
    """Types into the fields named by id, key by key (the page checks as it is typed); dates are
    set by script (headless Chromium shows date inputs in its own locale)."""
    for field, value in values.items():
        e = d.find_element(By.ID, field)
        if e.get_attribute("type") == "date":
            set_value(d, field, value)
        else:
            e.clear()
            e.send_keys(value)


def webra_select(d, field, value):
    from selenium.webdriver.support.ui import Select
    Select(d.find_element(By.ID, field)).select_by_value(value)


def webra_clear_message(d):
    d.execute_script("const m = document.getElementById('message'); m.className = 'message'; m.textContent = '';")


def webra_bundle_entry():
    d, t = browser("webra-suzuki"), browser("webra-takahashi")
    try:
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        d.find_element(By.CSS_SELECTOR, "nav a[href='/ra/bundle-new.html']").click()
        ready(d)
        wait(d, lambda: d.find_elements(By.ID, "a1-name-kanji"), "the first applicant's Form 5")
        check(text(d, "h1") == "申請書類一式の受付" and "様式1 法人利用契約書・変更申請書" in text(d, "#bundle-form")
              and "様式6 ユーザID申請書" in text(d, "#bundle-form"), "the new-bundle page lays out Forms 1-6 as on paper")
        page_checks(d, "ra-bundle-new")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        wait(d, lambda: d.find_elements(By.ID, "a1-name-kanji"), "the English form")
        check(text(d, "h1") == "Enter a paper bundle" and "Form 5: applicant 1" in text(d, "#applicants"),
              "the new-bundle page in English")
        page_checks(d, "ra-bundle-new-en")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        wait(d, lambda: d.find_elements(By.ID, "a1-name-kanji"), "the Japanese form again")

        # The server's rules as typed: kana, romaji, the company's legal form in the certificate.
        kana = d.find_element(By.ID, "a1-name-kana")
        kana.send_keys("fuji")
        wait(d, lambda: "カナ" in text(d, "#a1-name-kana-error"), "the kana rule as typed")
        check(kana.get_attribute("aria-invalid") == "true", f"kana checked as typed: {text(d, '#a1-name-kana-error')}")
        romaji = d.find_element(By.ID, "a1-name-romaji")
        romaji.send_keys("藤 花子")
        wait(d, lambda: "ローマ字" in text(d, "#a1-name-romaji-error"), "the romaji rule as typed")
        check(True, f"romaji checked as typed: {text(d, '#a1-name-romaji-error')}")
        org = d.find_element(By.ID, "a1-organization-romaji")
        org.send_keys("Fuji Kensetsu K.K.")
        wait(d, lambda: "企業形態" in text(d, "#a1-organization-romaji-error"), "the legal-form rule as typed")
        check(True, "the company form (K.K.) in the certificate's organisation refused as typed")
        org.clear()
        webra_type(d, {"form1-f-name": "藤建設株式会社", "form1-f-name-kana": "フジケンセツ", "form1-f-name-romaji": "Fuji Kensetsu",
                       "form1-f-address": "東京都港区芝1-2-3", "form1-f-representative-title": "代表取締役",
                       "form1-f-representative-name": "藤 一郎", "form2-f-seal-description": "丸印",
                       "form3-f-token-quantity": "1",
                       "contact-f-name": "連絡 桃子", "contact-f-department": "総務部", "contact-f-email": "contact@fuji.example.jp",
                       "contact-f-phone": "03-1234-5678",
                       "a1-name-kanji": "藤 花子", "a1-name-kana": "フジ ハナコ", "a1-name-romaji": "Hanako Fuji",
                       "a1-department-romaji": "Koji-bu", "a1-email": "hanako.fuji@fuji.example.jp", "a1-postcode": "105-0014",
                       "u2-name": "藤 花子", "u2-department": "工事部", "u2-email": "hanako.fuji@fuji.example.jp",
                       "cdocs-f-registration-issued": cfg["days_ago_10"], "cdocs-f-representative-seal-issued": cfg["days_ago_10"],
                       "a1-docs-residence-record-issued": cfg["days_ago_4_months"],
                       "a1-docs-personal-seal-issued": cfg["days_ago_10"]})
        check(d.find_element(By.ID, "a1-organization-romaji").get_attribute("value") == "Fuji Kensetsu",
              "Form 5's organisation follows Form 1's romaji name")
        d.find_element(By.ID, "form2-f-seal-form").click()
        d.find_element(By.ID, "form3-f-applicant-list").click()
        webra_select(d, "a1-validity-years", "1")
        before = len(page_api(d, "ra.bundle.list", {})["body"])
        # The home address is missing: refused in the page, nothing sent.
        d.find_element(By.ID, "bundle-submit").click()
        message(d, "error")
        check("入力してください" in text(d, "#a1-home-address-error") and len(page_api(d, "ra.bundle.list", {})["body"]) == before,
              f"a required field left empty: named in the page, nothing stored ({text(d, '#a1-home-address-error')})")
        webra_type(d, {"a1-home-address": "東京都港区芝5-6-7"})
        d.find_element(By.ID, "bundle-submit").click()
        wait(d, lambda: "/ra/bundle.html?id=" in d.current_url, "the new bundle's page")
        ready(d)
        bundle = int(d.current_url.split("id=")[1])
        webra["bundle"] = bundle
        m = message(d, "error")
        check(f"申請書類一式 {bundle} を登録しました" in m and "不備" in m, f"the bundle entered in the browser, checked at once: {m}")
        wait(d, lambda: d.find_elements(By.CSS_SELECTOR, "#reasons .reason-stale_document"), "the stale document's reason")
        stale = text(d, "#reasons .reason-stale_document")
        check("住民票" in stale and "3ヶ月" in stale and cfg["days_ago_4_months"] in stale,
              f"the stale residence record flagged with the server's reason: {stale}")
        check("請求担当者" in text(d, "#reasons .reason-missing_form"),
              f"the missing Form-4 billing person named too: {text(d, '#reasons')}")
        created = page_api(d, "ra.bundle.show", {"id": bundle})["body"]
        app = created["applications"][0]["id"]
        webra["app"] = app
        check(created["company"]["name_romaji"] == "Fuji Kensetsu" and created["seal_form"] and created["token_quantity"] == 1
              and created["contacts"][0]["email"] == "contact@fuji.example.jp" and created["users"][0]["name"] == "藤 花子"
              and len(created["documents"]) == 4 and created["applications"][0]["state"] == "incomplete",
              "Forms 1-6 and the four documents stored as typed; the application incomplete")
        page_checks(d, "ra-bundle-entered")

        # Corrections before approval: the bundle (Forms 1-4) and the Form 5.
        webra_type(d, {"edit-f-note": "住民票の再提出を依頼", "edit-billing-name": "請求 梅子", "edit-billing-email": "billing.fuji.example.jp"})
        d.find_element(By.ID, "edit-submit").click()
        wait(d, lambda: "形式" in text(d, "#edit-billing-email-error"), "the e-mail rule in the correction")
        webra_type(d, {"edit-billing-email": "billing@fuji.example.jp"})
        d.find_element(By.ID, "edit-submit").click()
        message(d, "ok")
        stored = page_api(d, "ra.bundle.show", {"id": bundle})["body"]
        check(stored["note"] == "住民票の再提出を依頼" and {c["role"]: c["email"] for c in stored["contacts"]} ==
              {"contact": "contact@fuji.example.jp", "billing": "billing@fuji.example.jp"},
              "the bundle corrected in the page: the Form-4 billing person added, the contact kept")
        webra_clear_message(d)
        go(d, f"/ra/application.html?id={app}")
        wait(d, lambda: d.find_element(By.ID, "edit-section").is_displayed(), "the Form-5 correction")
        title = d.find_element(By.ID, "edit-f-title-romaji")
        title.send_keys("課長")
        wait(d, lambda: "ローマ字" in text(d, "#edit-f-title-romaji-error"), "the romaji rule in the correction")
        title.clear()
        title.send_keys("Kacho")
        d.find_element(By.ID, "edit-submit").click()
        message(d, "ok")
        shown = page_api(d, "ra.application.show", {"id": app})["body"]
        check(shown["title_romaji"] == "Kacho" and shown["department_romaji"] == "Koji-bu",
              "the Form 5 corrected while incomplete (only the title changed)")
        page_checks(d, "ra-application-edit")

        # The fresh residence record arrives: resubmission, the paper, the check.
        go(d, f"/ra/bundle.html?id={bundle}")
        wait(d, lambda: "藤 花子" in text(d, "#bundle-apps"), "the bundle")
        d.find_element(By.ID, "resubmit").click()
        message(d, "ok")
        webra_clear_message(d)
        webra_select(d, "doc-kind", "residence_record")
        webra_select(d, "doc-app", str(app))
        set_value(d, "doc-issued", cfg["days_ago_3"])
        d.find_element(By.ID, "doc-submit").click()
        message(d, "ok")
        webra_clear_message(d)
        d.find_element(By.ID, "run-check").click()
        m = message(d)
        check(app_state(d, app) == "checked" and not d.find_element(By.ID, "edit-section").is_displayed(),
              f"fixed: the application is checked and the bundle no longer editable ({m} {text(d, '#reasons')})")

        # A second operator approves; the first issues the PIN.
        login(t, "operator", "takahashi", secret("takahashi.pw"), "/ra/")
        go(t, f"/ra/application.html?id={app}")
        wait(t, lambda: text(t, "#entered-by") == "suzuki", "who entered the bundle")
        t.find_element(By.ID, "approve").click()
        message(t, "ok")
        check(app_state(t, app) == "approved" and text(t, "#approved-by") == "takahashi", "takahashi approved the browser-entered application")
        go(d, f"/ra/application.html?id={app}")
        wait(d, lambda: d.find_element(By.ID, "issue-pin").is_displayed(), "the PIN button")
        d.find_element(By.ID, "issue-pin").click()
        message(d, "ok")
        webra["first_pin"] = text(d, "#pin-value")
        check(app_state(d, app) == "pin_issued", "the PIN issued for the bundle entered in the browser")
    finally:
        d.quit()
        t.quit()


def webra_download_pins(to):
    maildir = pathlib.Path(cfg["home"]) / "maildir" / "new"
    found = []
    for f in sorted(maildir.glob("*")) if maildir.exists() else []:
        msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        body = msg.get_content()
        if to in str(msg["To"]) and "ダウンロードPIN" in str(msg["Subject"]) + body:
            found += [m.group(0) for m in re.finditer(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", body)]
    return found


def webra_new_download_pin(to, known):
    for _ in range(600):
        fresh = [p for p in webra_download_pins(to) if p not in known]
        if fresh:
            return fresh[0]
        time.sleep(0.1)
    raise AssertionError(f"no new download PIN mail to {to}")


def webra_pin_reissue():
    app, to = webra["app"], "hanako.fuji@fuji.example.jp"
    d, t = browser("webra-suzuki2"), browser("webra-takahashi2")
    try:
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        d.find_element(By.CSS_SELECTOR, "nav a[href='/ra/pins.html']").click()
        ready(d)
        wait(d, lambda: d.find_elements(By.ID, f"pin-request-{app}"), "the application in the PIN list")
        page_checks(d, "ra-pins")
        d.find_element(By.ID, f"pin-request-{app}").click()
        d.find_element(By.ID, "rq-reason").send_keys("承認通知書の紛失")
        d.find_element(By.ID, "rq-submit").click()
        message(d, "ok")
        wait(d, lambda: d.find_elements(By.ID, f"pin-issue-{app}"), "the request in the list")
        check("再発行待ち" in text(d, "#app-pins"), "the re-issue request recorded: the old PIN void")
        status, _, body, _ = request("POST", "/api/v1/enroll.status", body={"application_id": app, "application_pin": webra["first_pin"]})
        check(status != 200, f"the first PIN no longer works after the request ({status})")
        webra_clear_message(d)
        d.find_element(By.ID, f"pin-issue-{app}").click()
        m = message(d, "error")
        check("suzuki" in m, f"the requester may not issue the new PIN: refused in the page: {m}")

        login(t, "operator", "takahashi", secret("takahashi.pw"), "/ra/")
        go(t, "/ra/pins.html")
        wait(t, lambda: t.find_elements(By.ID, f"pin-issue-{app}"), "the request in takahashi's list")
        t.find_element(By.ID, f"pin-issue-{app}").click()
        message(t, "ok")
        pin = text(t, "#pin-value")
        check(re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", pin) is not None and pin != webra["first_pin"]
              and t.find_element(By.ID, "letter-link").is_displayed(), "a second person issues the new PIN: shown once, with its letter")
        page_checks(t, "ra-pins-issued")
        t.find_element(By.ID, "lang-switch").click()
        ready(t)
        check(text(t, "h1") == "PIN re-issues", "the PIN page in English")
        page_checks(t, "ra-pins-en")
        t.find_element(By.ID, "lang-switch").click()
        ready(t)

        go(t, f"/ra/application.html?id={app}")
        t.find_element(By.ID, "tracking").send_keys("2234-5678-9012")
        t.find_element(By.ID, "mail-sent-submit").click()
        message(t, "ok")
        check(app_state(t, app) == "notice_mailed", "the new approval notice posted by restricted delivery")

        # The applicant enrolls with the new PIN (issue 10's API, an openssl key); the download PIN
        # is re-issued from the page; the first one is then refused, the new one collects.
        csr = WORK / "webra.csr"
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(WORK / "webra.key"), "-subj", "/CN=ignored", "-out", str(csr)], check=True, capture_output=True)
        status, _, body, _ = request("POST", "/api/v1/enroll.start", body={"application_id": app, "application_pin": pin,
                                                                          "csr": csr.read_text()})
        check(status == 200, f"enroll.start with the re-issued PIN: {body[:200]}")
        first = webra_new_download_pin(to, [])
        go(t, "/ra/pins.html")
        wait(t, lambda: t.find_elements(By.ID, f"dl-reissue-{app}"), "the enrolled application's download PIN")
        t.find_element(By.ID, f"dl-reissue-{app}").click()
        message(t, "ok")
        second = webra_new_download_pin(to, [first])
        wait(t, lambda: "有効" in text(t, "#dl-pins"), "the new download PIN in force")
        page_checks(t, "ra-pins-download")
        status, _, _, _ = request("POST", "/api/v1/enroll.collect", body={"application_id": app, "download_pin": first})
        check(status != 200, f"the replaced download PIN is refused ({status})")
        status, _, body, _ = request("POST", "/api/v1/enroll.collect", body={"application_id": app, "download_pin": second})
        j = json.loads(body)
        check(status == 200 and j["serial"], f"the re-issued download PIN collects the certificate {j.get('serial')}")
        webra["serial"] = j["serial"]
    finally:
        d.quit()
        t.quit()


def webra_renewal():
    app = webra["app"]
    out = subprocess.run([cfg["jitsuin"], "--home", cfg["home"], "--config", cfg["config"], "ra", "notify-expiring", "--json"],
                         capture_output=True, text=True)
    sent = json.loads(out.stdout) if out.returncode == 0 else []
    check([n["days_before"] for n in sent if n["application"] == app] == [366],
          f"the cron job (ra notify-expiring, first notice 366 days before) sends the notice: {sent} {out.stderr.strip()}")
    d = browser("webra-renewal")
    try:
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        d.find_element(By.CSS_SELECTOR, "nav a[href='/ra/renewals.html']").click()
        ready(d)
        wait(d, lambda: d.find_elements(By.ID, f"exp-{app}"), "the certificate in the expiry list")
        row = text(d, f"#exp-{app}")
        check("藤 花子" in row and webra["serial"].lower() in row.lower() and "366日前のお知らせ" in row and "更新できます" in row,
              f"the expiring certificate listed with its notice, renewable: {row.replace(chr(10), ' ')}")
        page_checks(d, "ra-renewals")
        d.find_element(By.ID, f"renew-{app}").click()
        check(d.find_element(By.ID, "rn-from").get_attribute("value") == str(app)
              and d.find_element(By.ID, "rn-bundle").get_attribute("value") == "new", "the renewal form takes the chosen certificate")
        field = d.find_element(By.ID, "rn-title-romaji")
        field.send_keys("部長")
        wait(d, lambda: "ローマ字" in text(d, "#rn-title-romaji-error"), "the romaji rule in the renewal")
        field.clear()
        field.send_keys("Bucho")
        d.find_element(By.ID, "rn-submit").click()
        message(d, "ok")
        renewal = int(d.find_element(By.ID, "renewal-link").get_attribute("href").split("id=")[1])
        r = page_api(d, "ra.application.show", {"id": renewal})["body"]
        check(r.get("renewal_of") == app and r["state"] == "received" and r["title_romaji"] == "Bucho"
              and r["name_kanji"] == "藤 花子" and r["bundle"] != webra["bundle"],
              f"a renewal created from the expiry list: application {renewal}, the earlier Form 5 with the new title, a new bundle")
        wait(d, lambda: f"更新申請 {renewal}" in text(d, f"#exp-{app}"), "the renewal under way in the list")
        check(not d.find_elements(By.ID, f"renew-{app}"), "the list shows the renewal under way, no second one offered")
        page_checks(d, "ra-renewals-created")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        wait(d, lambda: d.find_elements(By.ID, f"exp-{app}"), "the English list")
        check(text(d, "h1") == "Expiry and renewals" and "366-day notice" in text(d, f"#exp-{app}"), "the renewal page in English")
        page_checks(d, "ra-renewals-en")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
    finally:
        d.quit()


# ---- webadmin
# Issue 11 (webadmin): company and user IDs, certificate links, the outbox with a failed mail and its
# retry, the audit log's verdict, Japanese date fields; the company admin's change of holder, its
# mails and log out everywhere, with nothing of the other company visible.
webadmin_sink = []   # the SMTP sink started again by the outbox scenario (stopped at exit)


def webadmin_select_text(d, select_id, part):
    from selenium.webdriver.support.ui import Select
    wait(d, lambda: any(part in o.text for o in d.find_elements(By.CSS_SELECTOR, f"#{select_id} option")),
         f"an option with {part} in #{select_id}")
    Select(d.find_element(By.ID, select_id)).select_by_visible_text(
        next(o.text for o in d.find_elements(By.CSS_SELECTOR, f"#{select_id} option") if part in o.text))


def webadmin_mails(d, state):
    return page_api(d, "ra.outbox.list", {"state": state, "limit": 1000})["body"]["entries"]


def webadmin_delivered(message_id):
    """The To of the delivered mail with this Message-ID (the outbox keeps it across retries)."""
    maildir = pathlib.Path(cfg["home"]) / "maildir" / "new"
    for _ in range(600):
        for f in sorted(maildir.glob("*")):
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            if str(msg["Message-ID"]).strip() == message_id:
                return str(msg["To"]).strip()
        time.sleep(0.1)
    raise AssertionError(f"no mail {message_id} in {maildir}")


def webadmin_sink_start():
    import atexit
    import signal
    p = subprocess.Popen(["/usr/bin/python3", str(pathlib.Path(__file__).parent.parent / "ra" / "smtp_sink.py"),
                          str(pathlib.Path(cfg["home"]) / "maildir"), str(cfg["smtp_port"])],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    check(p.stdout.readline().strip() == str(cfg["smtp_port"]), "the SMTP sink listens again on its port")
    webadmin_sink.append(p)
    atexit.register(lambda: p.send_signal(signal.SIGTERM))


def webadmin_dates():
    """Date fields take Japanese dates whatever the browser's locale (headless Chromium: en-US)."""
    d = browser("webadmin-dates")
    try:
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        f = d.find_element(By.ID, "f-from")
        check(f.get_attribute("type") == "text" and f.get_attribute("placeholder") == "2026/11/30"
              and "年/月/日" in text(d, "#f-from-date-hint"), "the date field asks for 年/月/日 (2026/11/30), not mm/dd/yyyy")
        y, m, day = cfg["days_ago_10"].split("-")
        wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in f"{y}/{m}/{day}")
        f.send_keys(wide.replace("/", "／") + Keys.TAB)
        check(f.get_attribute("value") == cfg["days_ago_10"], f"a full-width date typed with the IME on ({wide}) becomes {cfg['days_ago_10']}")
        t = d.find_element(By.ID, "f-to")
        t.send_keys("2026年2月30日" + Keys.TAB)
        check(t.get_attribute("aria-invalid") == "true", "an impossible date (2026年2月30日) is refused by the field")
        t.clear()
        t.send_keys(f"{cfg['today'].replace('-', '/')}" + Keys.TAB)
        check(t.get_attribute("value") == cfg["today"], "2026/11/30 style is accepted")
        d.find_element(By.ID, "search-submit").click()
        wait(d, lambda: "山田 太郎" in text(d, "#applications"), "the applications received in the dates")
        check(True, "the search by dates typed the Japanese way finds today's applications")
        page_checks(d, "ra-applications-dates")
    finally:
        d.quit()


def webadmin_operator():
    """Suzuki issues the other company's IDs, adds a user ID, reviews a company's certificates and
    links; with the SMTP sink stopped the link change's mail fails, the outbox page shows it, a retry
    of a mail that carried a password is refused, the sink comes back and the retry delivers."""
    import signal
    serial = issued_pin["serial"]
    d = browser("webadmin-suzuki")
    try:
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        go(d, "/ra/accounts.html")
        webadmin_select_text(d, "company", "桜建設")
        wait(d, lambda: "山田 太郎" in text(d, "#accounts") and "企業ID" in text(d, "#accounts"), "Sakura's IDs")
        check("梅田" not in text(d, "#accounts"), "the company's IDs only (nothing of 梅工業)")
        page_checks(d, "ra-accounts")
        d.find_element(By.ID, "issue-bundle").send_keys(str(cfg["bundle2"]))
        d.find_element(By.ID, "issue-submit").click()
        message(d, "ok")
        webadmin_select_text(d, "company", "梅工業")
        wait(d, lambda: "梅田 一夫" in text(d, "#accounts"), "梅工業's IDs issued from bundle 2")
        check("山田" not in text(d, "#accounts"), "an operator issues company and user IDs from a bundle in the console")
        d.find_element(By.ID, "issue-submit").click()
        m = message(d, "error")
        check("issued already" in m, f"issuing them twice is refused with the server's reason: {m}")
        webadmin_select_text(d, "company", "桜建設")
        wait(d, lambda: "山田 太郎" in text(d, "#accounts"), "Sakura's IDs again")
        # The other company's admin password arrives while the sink is up.
        webadmin_ume_id = mailed_password("contact@ume.example.jp")
        (WORK / "webadmin-ume.json").write_text(json.dumps(webadmin_ume_id))

        go(d, "/ra/certificates.html")
        webadmin_select_text(d, "company", "桜建設")
        wait(d, lambda: serial.lower() in text(d, "#certificates").lower(), "the company's certificate")
        check("失効" in text(d, "#certificates"), "the certificate is listed revoked (after the revocation scenario)")
        wait(d, lambda: "伊藤 花子" in text(d, "#requests"), "the company admin's request")
        req = next(r for r in page_api(d, "ra.cert_request.list", {})["body"] if r["name_kanji"] == "伊藤 花子")
        d.find_element(By.ID, f"check-{req['application']}").click()
        message(d, "ok")
        wait(d, lambda: "審査済" in text(d, "#requests"), "the request checked")
        check(True, "an operator checks a company admin's additional certificate request")
        page_checks(d, "ra-certificates")

        # The sink stops: the next mails fail at once (one attempt each).
        os.kill(cfg["sink_pid"], signal.SIGTERM)
        time.sleep(0.5)
        from selenium.webdriver.support.ui import Select
        webadmin_select_text(d, "l-user", "山田")
        Select(d.find_element(By.ID, "l-serial")).select_by_index(
            next(i for i, o in enumerate(d.find_elements(By.CSS_SELECTOR, "#l-serial option"))
                 if o.get_attribute("value").lower() == serial.lower()))
        Select(d.find_element(By.ID, "l-action")).select_by_value("unlink")
        d.find_element(By.ID, "link-submit").click()
        message(d, "ok")
        wait(d, lambda: "U" not in d.find_element(By.CSS_SELECTOR, "#certificates tbody tr td:last-child").text,
             "the link gone")
        check(True, "an operator unlinks a certificate from a user ID")
        Select(d.find_element(By.ID, "l-action")).select_by_value("link")
        d.find_element(By.ID, "link-submit").click()
        m = message(d, "error")
        check("revoked" in m, f"linking a revoked certificate is refused in the page: {m}")
        go(d, "/ra/accounts.html")
        webadmin_select_text(d, "company", "桜建設")
        wait(d, lambda: "山田 太郎" in text(d, "#accounts"), "Sakura's IDs")
        d.find_element(By.ID, "add-name").send_keys("追加 四郎")
        d.find_element(By.ID, "add-department").send_keys("工事部")
        d.find_element(By.ID, "add-email").send_keys("shiro@sakura.example.jp")
        d.find_element(By.ID, "add-submit").click()
        message(d, "ok")
        wait(d, lambda: "追加 四郎" in text(d, "#accounts"), "the additional user ID")
        check(True, "an operator issues an additional user ID")

        # The outbox page: the failures, never a mail's text.
        def failed():
            f = webadmin_mails(d, "failed")
            kinds = {m["template"] for m in f}
            return f if {"link_changed", "user_id"} <= kinds else None
        fails = wait(d, failed, "the mails to fail with the sink stopped")
        go(d, "/ra/outbox.html?state=failed")
        link_mail = next(m for m in fails if m["template"] == "link_changed")
        pw_mail = next(m for m in fails if m["template"] == "user_id")
        wait(d, lambda: "送信失敗" in text(d, f"#mail-{link_mail['id']}"), "the failed mail in the outbox page")
        row = text(d, f"#mail-{link_mail['id']}")
        check("紐付" in row and link_mail["last_error"] and "contact@sakura.example.jp" in row,
              f"the outbox page shows the failed mail, its kind and its error: {row}")
        body = d.find_element(By.TAG_NAME, "body").text
        check("初期パスワード:" not in body and serial.lower() not in body.lower(), "the outbox page shows no mail's text")
        page_checks(d, "ra-outbox-failed")
        d.find_element(By.ID, f"retry-{pw_mail['id']}").click()
        m = message(d, "error")
        check("secret" in m, f"a failed mail that carried a password is not sent again (issue it again): {m}")
        webadmin_sink_start()
        d.find_element(By.ID, f"retry-{link_mail['id']}").click()
        message(d, "ok")
        sent = lambda: next((m for m in webadmin_mails(d, "sent") if m["id"] == link_mail["id"]), None)
        wait(d, sent, "the retried mail to be sent")
        check(webadmin_delivered(link_mail["message_id"]) == "contact@sakura.example.jp",
              "the retried mail is delivered by SMTP once the sink is back (its Message-ID in the maildir)")
        go(d, "/ra/outbox.html")
        wait(d, lambda: "送信済" in text(d, f"#mail-{link_mail['id']}"), "the retried mail sent in the page")
        page_checks(d, "ra-outbox")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        check(text(d, "h1") == "Outbox" and "sent" in text(d, f"#mail-{link_mail['id']}"), "the outbox page in English")
        page_checks(d, "ra-outbox-en")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        # An operator is not an auditor: the audit page shows the server's refusal.
        go(d, "/ra/audit.html")
        m = message(d, "error")
        check("auditors and administrators" in m, f"an operator is refused the audit log in the page: {m}")
    finally:
        d.quit()


def webadmin_auditor():
    d = browser("webadmin-audrey")
    try:
        login(d, "operator", "audrey", secret("audrey.pw"), "/ra/")
        go(d, "/ra/audit.html")
        wait(d, lambda: "監査ログは完全です" in text(d, "#verdict-text"), "the verdict")
        wait(d, lambda: "ra.mail.retry" in text(d, "#entries"), "the entries")
        check(re.search(r"\d+ 件を検証", text(d, "#verdict-text")) is not None and text(d, "#verdict-facts") != "",
              f"an auditor sees audit verify's verdict: {text(d, '#verdict-text')}")
        check("ra.mail.retry" in text(d, "#entries"), "the outbox retry is in the audit log the auditor reads")
        page_checks(d, "ra-audit")
        d.find_element(By.ID, "f-action").send_keys("ra.account")
        d.find_element(By.ID, "filter-submit").click()
        wait(d, lambda: "ra.mail.retry" not in text(d, "#entries") and "ra.account" in text(d, "#entries"),
             "the entries of one kind")
        actions = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#entries tbody tr td:nth-child(4)")]
        check(actions and all(a.startswith("ra.account") for a in actions), f"the audit entries filtered by action ({len(actions)})")
    finally:
        d.quit()


def webadmin_company():
    """Sakura's admin changes a user ID's holder, reads its mails and logs out everywhere; 梅工業's
    admin sees none of it, and cannot change Sakura's IDs."""
    cid, password = mailed_password("contact@sakura.example.jp")
    status, _, body, _ = request("POST", "/api/v1/company.login",
                                 body={"login_id": cid, "password": company_password(cid, password)})
    bearer = json.loads(body)["token"]
    d = browser("webadmin-sakura")
    try:
        login(d, "company", cid, password, "/company/")
        wait(d, lambda: "山田 太郎" in text(d, "#users"), "the company's users")
        yamada = next(a for a in page_api(d, "company.accounts", {})["body"] if a["name"] == "山田 太郎")["login_id"]
        webadmin_select_text(d, "holder-id", yamada)
        d.find_element(By.ID, "holder-name").send_keys("佐々木 健")
        d.find_element(By.ID, "holder-department").send_keys("工事部")
        d.find_element(By.ID, "holder-email").send_keys("ken.sasaki@sakura.example.jp")
        d.find_element(By.ID, "holder-submit").click()
        message(d, "ok")
        wait(d, lambda: "佐々木 健" in text(d, "#users") and "山田 太郎" not in text(d, "#users"), "the new holder")
        wait_for_mail("ken.sasaki@sakura.example.jp", "初期パスワード", yamada)
        check(True, "a company admin changes a user ID's holder; the new holder gets the initial password by mail")
        page_checks(d, "company-holder-changed")
        go(d, "/company/mails.html")
        wait(d, lambda: "紐付け" in text(d, "#mails"), "the company's mails")
        mails = text(d, "#mails")
        check("ume" not in mails and "梅" not in mails, "the mails page shows nothing of the other company")
        d.find_element(By.CSS_SELECTOR, "#mails details summary").click()
        check(d.find_element(By.CSS_SELECTOR, "#mails details pre").is_displayed() or
              d.find_element(By.CSS_SELECTOR, "#mails details p.hint").is_displayed(), "a mail opens to its text")
        body = d.find_element(By.TAG_NAME, "body").text
        check(password not in body and "初期パスワード:" not in body, "a mail that carried a password shows no text")
        page_checks(d, "company-mails")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)
        check(text(d, "h1") == "Notification mails", "the mails page in English")
        d.find_element(By.ID, "lang-switch").click()
        ready(d)

        ume_id, ume_password = json.loads((WORK / "webadmin-ume.json").read_text())
        u = browser("webadmin-ume")
        try:
            login(u, "company", ume_id, ume_password, "/company/")
            wait(u, lambda: "梅田 一夫" in text(u, "#users"), "梅工業's users")
            all_text = u.find_element(By.TAG_NAME, "body").text
            check("佐々木" not in all_text and "山田" not in all_text and "桜" not in all_text,
                  "the other company's admin sees nothing of Sakura")
            r = page_api(u, "company.account.change_holder", {"login_id": yamada, "name": "x", "email": "x@ume.example.jp"})
            check(r["status"] == 403, f"nor may change the holder of Sakura's user ID: {r['status']}")
            go(u, "/company/mails.html")
            wait(u, lambda: text(u, "#mails") != "", "梅工業's mails")
            check("sakura" not in text(u, "#mails"), "梅工業's mails page shows none of Sakura's mails")
            page_checks(u, "company-mails-other")
        finally:
            u.quit()

        go(d, "/company/")
        d.find_element(By.ID, "logout-all").click()
        wait(d, lambda: d.current_url.endswith("/company/login.html"), "the login page after logging out everywhere")
        status, _, _, _ = request("POST", "/api/v1/company.whoami", body={}, headers={"Authorization": f"Bearer {bearer}"})
        check(status == 401, "a company admin logs out everywhere: its other session (a bearer token) ends too")
    finally:
        d.quit()


# ---- webfin (issue 11): removing a wrongly recorded document on the bundle page and withdrawing an
# application on its page, each behind a confirmation; the server's refusal shown as it words it
# (a bundle past the check; a second window still showing an application already withdrawn).
def webfin_remove_and_withdraw():
    from selenium.webdriver.support.ui import Select
    d, e = browser("webfin-suzuki"), browser("webfin-suzuki-2")
    try:
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        paper = json.loads((WORK / "bundle.json").read_text())
        paper["company"].update({"name": "松工業株式会社", "name_kana": "マツコウギョウ", "name_romaji": "Matsu Kogyo"})
        paper["applicants"][0].update({"name_kanji": "松田 三郎", "name_kana": "マツダ サブロウ", "name_romaji": "Saburo Matsuda",
                                       "organization_romaji": "Matsu Kogyo", "email": "saburo@matsu.example.jp"})
        paper["users"][0].update({"name": "松田 三郎", "email": "saburo@matsu.example.jp"})
        paper["token_quantity"] = 1
        made = page_api(d, "ra.bundle.create", paper)
        check(made["status"] == 200, f"a third bundle entered (Matsu Kogyo): {made['body']}")
        bundle, app = made["body"]["bundle"], made["body"]["applications"][0]
        for kind in ("registration_current", "representative_seal"):
            page_api(d, "ra.document.add", {"bundle": bundle, "kind": kind, "issued": cfg["days_ago_10"]})
        page_api(d, "ra.document.add", {"bundle": bundle, "application": app, "kind": "personal_seal", "issued": cfg["days_ago_10"]})
        go(d, f"/ra/bundle.html?id={bundle}")
        wait(d, lambda: "松田 三郎" in text(d, "#bundle-apps"), "the Matsu bundle")

        def record(kind, issued):
            Select(d.find_element(By.ID, "doc-kind")).select_by_value(kind)
            Select(d.find_element(By.ID, "doc-app")).select_by_value(str(app))
            set_value(d, "doc-issued", issued)
            d.find_element(By.ID, "doc-submit").click()
            message(d, "ok")
            webra_clear_message(d)

        # A residence record from four months ago recorded by mistake: the check flags it as stale.
        record("residence_record", cfg["days_ago_4_months"])
        d.find_element(By.ID, "run-check").click()
        wait(d, lambda: d.find_elements(By.CSS_SELECTOR, "#reasons .reason-stale_document"), "the stale document's reason")
        check("住民票" in text(d, "#reasons") and app_state(d, app) == "incomplete",
              f"the wrong residence record flagged: {text(d, '#reasons')}")
        webra_clear_message(d)
        docs = page_api(d, "ra.bundle.show", {"id": bundle})["body"]["documents"]
        wrong = [x["id"] for x in docs if x["kind"] == "residence_record"][0]
        button = d.find_element(By.CSS_SELECTOR, f"button.doc-remove[data-doc='{wrong}']")
        check("住民票" in button.get_attribute("aria-label") and cfg["days_ago_4_months"] in button.get_attribute("aria-label"),
              f"each remove button names its document: {button.get_attribute('aria-label')}")
        # Asked first; going back changes nothing.
        button.click()
        wait(d, lambda: d.find_element(By.ID, "doc-remove").is_displayed(), "the removal's confirmation")
        check("住民票" in text(d, "#doc-remove-what") and d.switch_to.active_element.get_attribute("id") == "doc-remove-h",
              f"the confirmation names the document and takes the focus: {text(d, '#doc-remove-what')}")
        page_checks(d, "ra-bundle-remove-confirm")
        d.find_element(By.ID, "doc-remove-cancel").click()
        check(not d.find_element(By.ID, "doc-remove").is_displayed()
              and len(page_api(d, "ra.bundle.show", {"id": bundle})["body"]["documents"]) == 4, "cancelled: the document stays")
        d.find_element(By.CSS_SELECTOR, f"button.doc-remove[data-doc='{wrong}']").click()
        d.find_element(By.ID, "doc-remove-confirm").click()
        m = message(d, "error")
        check("理由" in m and len(page_api(d, "ra.bundle.show", {"id": bundle})["body"]["documents"]) == 4,
              f"no reason, nothing removed: {m}")
        webra_clear_message(d)
        d.find_element(By.ID, "doc-remove-reason").send_keys("発行日の誤り（古い住民票）")
        d.find_element(By.ID, "doc-remove-confirm").click()
        message(d, "ok")
        kinds = [x["kind"] for x in page_api(d, "ra.bundle.show", {"id": bundle})["body"]["documents"]]
        check("residence_record" not in kinds and len(kinds) == 3 and "住民票" not in text(d, "#documents tbody"),
              f"the wrong document removed, the table updated: {kinds}")
        webra_clear_message(d)
        d.find_element(By.ID, "resubmit").click()
        message(d, "ok")
        webra_clear_message(d)
        d.find_element(By.ID, "run-check").click()
        wait(d, lambda: d.find_elements(By.CSS_SELECTOR, "#reasons .reason-missing_document")
             and not d.find_elements(By.CSS_SELECTOR, "#reasons .reason-stale_document"), "the reasons after the removal")
        check("住民票" in text(d, "#reasons .reason-missing_document"),
              f"the check's reasons updated: the residence record now missing, no longer stale ({text(d, '#reasons')})")
        page_checks(d, "ra-bundle-removed")
        webra_clear_message(d)
        d.find_element(By.ID, "resubmit").click()
        message(d, "ok")
        webra_clear_message(d)
        record("residence_record", cfg["days_ago_3"])
        d.find_element(By.ID, "run-check").click()
        message(d, "ok")
        check(app_state(d, app) == "checked" and not d.find_elements(By.CSS_SELECTOR, "#reasons .reason"),
              f"with the right residence record the application is checked ({text(d, '#reasons')})")
        # Past the check the server refuses a removal; the page shows its words.
        webra_clear_message(d)
        d.find_elements(By.CSS_SELECTOR, "button.doc-remove")[0].click()
        d.find_element(By.ID, "doc-remove-reason").send_keys("試し")
        d.find_element(By.ID, "doc-remove-confirm").click()
        m = message(d, "error")
        check("実行できませんでした" in m and "is no longer being checked" in m
              and len(page_api(d, "ra.bundle.show", {"id": bundle})["body"]["documents"]) == 4,
              f"a removal after the check refused with the server's reason, nothing removed: {m}")

        # The company no longer wants the certificate: withdrawn from the application page.
        go(d, f"/ra/application.html?id={app}")
        wait(d, lambda: d.find_element(By.ID, "withdraw-section").is_displayed(), "the withdrawal section")
        login(e, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        go(e, f"/ra/application.html?id={app}")
        wait(e, lambda: e.find_element(By.ID, "withdraw-section").is_displayed(), "the withdrawal section (second window)")
        d.find_element(By.ID, "withdraw").click()
        m = message(d, "error")
        check("理由" in m and not d.find_element(By.ID, "withdraw-confirm").is_displayed(), f"no reason, not asked: {m}")
        webra_clear_message(d)
        d.find_element(By.ID, "withdraw-reason").send_keys("法人から取下げの連絡（電話、担当 連絡 花子）")
        d.find_element(By.ID, "withdraw").click()
        wait(d, lambda: d.find_element(By.ID, "withdraw-confirm").is_displayed(), "the withdrawal's confirmation")
        check(f"申請 {app}" in text(d, "#withdraw-what") and "松田 三郎" in text(d, "#withdraw-what"),
              f"the confirmation names the application and applicant: {text(d, '#withdraw-what')}")
        page_checks(d, "ra-application-withdraw-confirm")
        d.find_element(By.ID, "withdraw-cancel").click()
        check(app_state(d, app) == "checked", "cancelled: the application is still checked")
        d.find_element(By.ID, "withdraw").click()
        d.find_element(By.ID, "withdraw-confirm-button").click()
        message(d, "ok")
        wait(d, lambda: text(d, "#app-state") == "取下げ" or app_state(d, app) == "withdrawn", "the withdrawn state")
        shown = page_api(d, "ra.application.show", {"id": app})["body"]
        check(shown["state"] == "withdrawn" and shown["history"][-1]["note"].startswith("法人から取下げ")
              and not d.find_element(By.ID, "withdraw-section").is_displayed(),
              f"withdrawn with its reason in the history; the section gone ({text(d, '#app-state')})")
        page_checks(d, "ra-application-withdrawn")
        # The second window still offers it: the server refuses, the page shows its words.
        e.find_element(By.ID, "withdraw-reason").send_keys("重複")
        e.find_element(By.ID, "withdraw").click()
        e.find_element(By.ID, "withdraw-confirm-button").click()
        m = message(e, "error")
        check("実行できませんでした" in m and "withdrawn" in m, f"withdrawing again refused with the server's reason: {m}")
    finally:
        d.quit()
        e.quit()

# ---- paging: the long lists a page at a time, newest first; "older" appends the next page until
# the page says there is nothing older. Run last: by then the outbox and the audit log hold many
# pages' worth.
def paging_rows(d, css, attr="id"):
    return [e.get_attribute(attr) for e in d.find_elements(By.CSS_SELECTOR, css)]


def paging_walk(d, css, expected, page):
    """Clicks "older" until the page says there is nothing older; each click appends one page."""
    shown = min(page, len(expected))
    wait(d, lambda: len(paging_rows(d, css)) == shown, f"the first page ({shown} rows)")
    more = len(expected) > page
    check(paging_rows(d, css) == expected[:shown] and d.find_element(By.ID, "older").is_displayed() == more
          and d.find_element(By.ID, "no-older").is_displayed() != more,
          f"the first page: the {shown} newest{', and a button for older ones' if more else ', nothing older'}")
    while shown < len(expected):
        d.find_element(By.ID, "older").click()
        shown = min(shown + page, len(expected))
        wait(d, lambda: len(paging_rows(d, css)) == shown, f"{shown} rows after 'older'")
    check(paging_rows(d, css) == expected, f"every row once, newest first, after {-(-len(expected) // page)} pages")
    wait(d, lambda: d.find_element(By.ID, "no-older").is_displayed() and not d.find_element(By.ID, "older").is_displayed(),
         "the page to say there is nothing older")
    check(True, f"the page says there is nothing older ({text(d, '#no-older')})")


def paging_outbox_and_audit():
    d = browser("paging-suzuki")
    try:
        login(d, "operator", "suzuki", secret("suzuki.pw"), "/ra/")
        every = page_api(d, "ra.outbox.list", {"limit": 1000})["body"]
        check(every["next"] is None and len(every["entries"]) > 8, f"more than two pages of 4 mails ({len(every['entries'])})")
        go(d, "/ra/outbox.html?limit=4")
        paging_walk(d, "#outbox tbody tr", [f"mail-{m['id']}" for m in every["entries"]], 4)
        page_checks(d, "ra-outbox-paged")
        failed = [f"mail-{m['id']}" for m in page_api(d, "ra.outbox.list", {"state": "failed", "limit": 1000})["body"]["entries"]]
        go(d, "/ra/outbox.html?state=failed&limit=1")
        paging_walk(d, "#outbox tbody tr", failed, 1)   # one state: by the index outbox_state
        revs = [f"rev-{r['id']}" for r in page_api(d, "ra.revocation.list", {"limit": 1000})["body"]["entries"]]
        go(d, "/ra/revocations.html?limit=1")
        paging_walk(d, "#revocations tbody tr", revs, 1)
    finally:
        d.quit()
    d = browser("paging-audrey")
    try:
        login(d, "operator", "audrey", secret("audrey.pw"), "/ra/")
        every = page_api(d, "audit.list", {"limit": 1000})["body"]
        check(every["ok"] and every["next"] is None and len(every["entries"]) > 50,
              f"more than one page of 50 audit entries ({len(every['entries'])})")
        go(d, "/ra/audit.html")
        wait(d, lambda: len(paging_rows(d, "#entries tbody tr")) == 100 or len(paging_rows(d, "#entries tbody tr")) == len(every["entries"]),
             "the first page of the default size")
        from selenium.webdriver.support.ui import Select
        Select(d.find_element(By.ID, "f-limit")).select_by_value("50")
        d.find_element(By.ID, "filter-submit").click()
        paging_walk(d, "#entries tbody tr", [f"seq-{e['seq']}" for e in every["entries"]], 50)
        page_checks(d, "ra-audit-paged")
    finally:
        d.quit()


def paging_company_mails():
    cid, password = mailed_password("contact@sakura.example.jp")
    d = browser("paging-sakura")
    try:
        login(d, "company", cid, password, "/company/")
        every = page_api(d, "company.mails", {"limit": 1000})["body"]
        check(every["next"] is None and len(every["entries"]) > 2, f"more than one page of 2 mails ({len(every['entries'])})")
        go(d, "/company/mails.html?limit=2")
        paging_walk(d, "#mails details", [f"mail-{m['id']}" for m in every["entries"]], 2)
        page_checks(d, "company-mails-paged")
    finally:
        d.quit()


http_checks()
first_login()
administrator()
operator_day()
enrollment()
company_admin()
revocation()
applicant_pages()
smime_coupon_page()
webra_bundle_entry()
webra_pin_reissue()
webra_renewal()
webadmin_dates()
webadmin_operator()
webadmin_auditor()
webadmin_company()
webfin_remove_and_withdraw()
paging_outbox_and_audit()
paging_company_mails()
print(f"browser_test: {len(passed)} checks passed", flush=True)
