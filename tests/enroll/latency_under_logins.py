#!/usr/bin/env python3
"""Latency of /health (HTTPS) and OCSP (POST /ocsp, plain HTTP) while LOGINS clients log in over
the API without pause (each on a keep-alive connection of its own, in a separate process), and
without them (LOGINS 0: the unloaded baseline). Each probe is sent on a keep-alive connection of
its own, one at a time, SAMPLES times, 10 ms apart. Prints one JSON object: for "health" and
"ocsp" the samples and their p50, p99 and max in ms, and how many logins were answered 200.
Usage: latency_under_logins.py HTTPS_URL HTTP_URL CAFILE LOGIN_JSON OCSP_REQ LOGINS SAMPLES"""
import http.client
import json
import multiprocessing
import ssl
import sys
import threading
import time
import urllib.parse


def connection(url, cafile):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False
        return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def request(conn_box, make, method, path, body=None, headers=None):
    """One request on a kept-alive connection (opened again when the server closed it)."""
    for attempt in range(2):
        if conn_box[0] is None:
            conn_box[0] = make()
        try:
            conn_box[0].request(method, path, body=body, headers=headers or {})
            r = conn_box[0].getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                conn_box[0].close()
                conn_box[0] = None
            return r.status, data
        except (http.client.HTTPException, OSError):
            conn_box[0].close()
            conn_box[0] = None
            if attempt:
                raise
    raise AssertionError("unreachable")


def logins(https, cafile, body, n, started, stop, count):
    def client():
        box = [None]
        while not stop.is_set():
            status, _ = request(box, lambda: connection(https, cafile), "POST", "/api/v1/session.login", body,
                                {"Content-Type": "application/json"})
            if status != 200:
                raise SystemExit("login answered %d" % status)
            with count.get_lock():
                count.value += 1
    threads = [threading.Thread(target=client, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    started.set()
    stop.wait()
    for t in threads:
        t.join(timeout=60)


def stats(samples):
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]
    return {"samples": len(s), "p50_ms": round(pick(0.50), 2), "p99_ms": round(pick(0.99), 2), "max_ms": round(s[-1], 2)}


def main():
    https, plain, cafile, login_json, ocsp_req = sys.argv[1:6]
    n, samples = int(sys.argv[6]), int(sys.argv[7])
    body = open(login_json, "rb").read()
    ocsp = open(ocsp_req, "rb").read()
    started, stop = multiprocessing.Event(), multiprocessing.Event()
    count = multiprocessing.Value("i", 0)
    load = None
    if n > 0:
        load = multiprocessing.Process(target=logins, args=(https, cafile, body, n, started, stop, count))
        load.start()
        started.wait(60)
        # Until the logins are under way: the first answers have come.
        deadline = time.monotonic() + 60
        while count.value < n and time.monotonic() < deadline and load.is_alive():
            time.sleep(0.05)
        if not load.is_alive():
            raise SystemExit("the login clients failed")
    health_box, ocsp_box = [None], [None]
    health, ocsp_ms = [], []
    u_https, u_plain = urllib.parse.urlsplit(https), urllib.parse.urlsplit(plain)
    request(health_box, lambda: connection(https, cafile), "GET", "/health")   # connections made before timing
    request(ocsp_box, lambda: connection(plain, cafile), "POST", "/ocsp", ocsp, {"Content-Type": "application/ocsp-request"})
    for _ in range(samples):
        t = time.perf_counter()
        status, _ = request(health_box, lambda: connection(https, cafile), "GET", "/health")
        health.append((time.perf_counter() - t) * 1000)
        if status != 200:
            raise SystemExit("/health answered %d" % status)
        t = time.perf_counter()
        status, _ = request(ocsp_box, lambda: connection(plain, cafile), "POST", "/ocsp", ocsp,
                            {"Content-Type": "application/ocsp-request"})
        ocsp_ms.append((time.perf_counter() - t) * 1000)
        if status != 200:
            raise SystemExit("/ocsp answered %d" % status)
        time.sleep(0.01)
    done = count.value
    if load:
        stop.set()
        load.join(60)
        if load.exitcode not in (0, None):
            raise SystemExit("the login clients failed (exit %s)" % load.exitcode)
    print(json.dumps({"logins": n, "logins_answered": done if n else 0, "health": stats(health), "ocsp": stats(ocsp_ms)}))


if __name__ == "__main__":
    main()
