#!/usr/bin/env python3
"""good-python.py: a Tenzro Platform API client in Python with the standard library only.

urllib.request for the REST calls, http.client for the event stream (read line by line),
one thread per loop. Reads TENZRO_API_URL, TENZRO_API_KEY, TENZRO_TENANT_ID (and optionally
TENZRO_API_KEY_FILE, re-read when it changes or on a 401, TENZRO_NETWORK, TENZRO_HEARTBEAT_TIMEOUT_MS, OTEL_EXPORTER_OTLP_ENDPOINT) from the environment.
"""
import http.client
import json
import os
import random
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = os.environ.get("TENZRO_API_URL", "https://api.platform.tenzro.com").rstrip("/")
KEY = os.environ.get("TENZRO_API_KEY")
KEY_FILE = os.environ.get("TENZRO_API_KEY_FILE")
TENANT = os.environ.get("TENZRO_TENANT_ID")
NETWORK = os.environ.get("TENZRO_NETWORK")
HEARTBEAT_TIMEOUT = float(os.environ.get("TENZRO_HEARTBEAT_TIMEOUT_MS", "37500")) / 1000
OTLP = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
MAX_RETRIES = 4

if not KEY or not TENANT:
    print("TENZRO_API_KEY and TENZRO_TENANT_ID must be set", file=sys.stderr)
    sys.exit(2)

stop = threading.Event()
pause = {"until": 0.0}  # a 429 pauses every request of the key


def wait_for_pause():
    delay = pause["until"] - time.time()
    if delay > 0:
        stop.wait(delay + 0.05)


def log(msg):
    print(time.strftime("%H:%M:%S"), "good-python", msg, flush=True)


def on_signal(signum, frame):
    stop.set()


signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)


class AuthError(Exception):
    pass


key_state = {"key": KEY, "mtime": None}


def reload_key():
    """Re-read TENZRO_API_KEY_FILE when it changed; True when the key is new."""
    if not KEY_FILE:
        return False
    try:
        mtime = os.stat(KEY_FILE).st_mtime_ns
        if mtime == key_state["mtime"]:
            return False
        key_state["mtime"] = mtime
        with open(KEY_FILE, encoding="utf-8") as fh:
            new = fh.read().strip()
    except OSError:
        return False
    if new and new != key_state["key"]:
        key_state["key"] = new
        log("API key file changed; switched to the new key")
        return True
    return False


reload_key()


def base_headers():
    reload_key()
    h = {"X-API-Key": key_state["key"], "X-Tenant-Id": TENANT}
    if NETWORK:
        h["X-Network"] = NETWORK
    return h


def backoff(attempt):
    # exponential backoff with full jitter
    return random.uniform(0, min(8.0, 0.25 * (2 ** attempt)))


def retry_after(headers):
    value = headers.get("Retry-After")
    if value and value.strip().isdigit():
        return float(value)
    return None


def request(method, path, body=None):
    req_id = "gp-" + uuid.uuid4().hex
    idem = str(uuid.uuid4()) if method == "POST" else None
    data = json.dumps(body).encode() if body is not None else None
    attempt = 0
    while not stop.is_set():
        wait_for_pause()
        headers = base_headers()
        headers["X-Request-Id"] = req_id
        if idem:
            headers["X-Idempotency-Key"] = idem
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=15) as res:
                return json.loads(res.read())
        except urllib.error.HTTPError as err:
            status = err.code
            try:
                code = json.loads(err.read()).get("error", {}).get("code")
            except Exception:
                code = None
            if status == 401 and reload_key():
                continue
            if status in (401, 403):
                raise AuthError(f"{status} {code}")
            if status not in (408, 409, 429, 500, 502, 503, 504) or attempt >= MAX_RETRIES:
                raise RuntimeError(f"{method} {path}: {status} {code}")
            ra = retry_after(err.headers)
            if status == 429 and ra is not None:
                pause["until"] = max(pause["until"], time.time() + ra)
            delay = ra + random.uniform(0, 0.25) if ra is not None else backoff(attempt)
            log(f"{method} {path}: {status} {code}, retry {attempt + 1} in {delay:.2f}s")
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException, TimeoutError) as err:
            if attempt >= MAX_RETRIES:
                raise RuntimeError(f"{method} {path}: network error, giving up")
            delay = backoff(attempt)
            log(f"{method} {path}: network error ({type(err).__name__}), retry {attempt + 1} in {delay:.2f}s")
        attempt += 1
        stop.wait(delay)
    raise RuntimeError("stopped")


def valid_wallet(w):
    return (isinstance(w, dict) and isinstance(w.get("id"), str) and w["id"].startswith("wal_")
            and isinstance(w.get("name"), str) and len(w["name"]) <= 64
            and w.get("chain") in ("ethereum", "solana", "bitcoin")
            and w.get("type") in ("mpc", "multi-sig", "single"))


wallets = {}


def list_wallets():
    page = request("GET", "/api/wallet/list?limit=50")
    for w in page.get("data") or []:
        if valid_wallet(w):
            wallets[w["id"]] = w
    return len(wallets)


def rest_loop():
    n = 0
    while not stop.is_set():
        try:
            count = list_wallets()
            if n % 3 == 1:
                res = request("POST", "/api/wallet/create",
                              {"name": f"gp-{int(time.time())}", "type": "single", "chain": "bitcoin"})
                log(f"created wallet {res['data']['id']}")
            else:
                log(f"{count} wallets known")
        except AuthError as err:
            log(f"authentication refused ({err}); stopping")
            stop.set()
            return
        except Exception as err:
            log(f"request failed: {err}")
        n += 1
        stop.wait(2)


# --- spans: one consumer span per processed event, OTLP/HTTP JSON ---
spans = []
spans_lock = threading.Lock()


def add_span(event_id, etype, start, end):
    if not OTLP:
        return
    with spans_lock:
        spans.append({
            "traceId": secrets.token_hex(16), "spanId": secrets.token_hex(8),
            "name": f"process {etype[:40]}", "kind": 5,
            "startTimeUnixNano": str(int(start * 1e9)), "endTimeUnixNano": str(int(end * 1e9)),
            "attributes": [
                {"key": "messaging.message.id", "value": {"stringValue": event_id}},
                {"key": "messaging.system", "value": {"stringValue": "tenzro"}},
                {"key": "messaging.operation.type", "value": {"stringValue": "process"}},
            ],
        })


def flush_spans():
    if not OTLP:
        return
    with spans_lock:
        batch = spans[:]
        spans.clear()
    if not batch:
        return
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "good-python"}}]},
        "scopeSpans": [{"scope": {"name": "good-python"}, "spans": batch}]}]}
    req = urllib.request.Request(OTLP.rstrip("/") + "/v1/traces", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        urllib.request.urlopen(req, timeout=3).read()
    except Exception:
        pass


def span_loop():
    while not stop.wait(1):
        flush_spans()


# --- the event stream ---
state = {"last_id": None, "retry": 1.0}
seen = set()


def handle(event_id, event_type, data):
    if event_type == "stream.gap":
        log(f"gap reported ({data[:80]}); relisting wallets")
        try:
            list_wallets()
        except AuthError:
            stop.set()
        except Exception as err:
            log(f"resync failed: {err}")
        return
    if event_id is not None and event_id in seen:
        return
    start = time.time()
    try:
        payload = json.loads(data)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        etype = str(payload.get("type", "unknown"))
    except ValueError:
        log(f"event {event_id}: invalid JSON, skipped")
        etype = None
    if event_id is not None:
        seen.add(event_id)
    if etype is not None:
        add_span(event_id or "", etype, start, time.time())


def stream_once():
    """Returns seconds to wait before the next attempt, or None for the normal retry delay."""
    u = urllib.parse.urlsplit(BASE)
    conn_cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(u.hostname, u.port, timeout=HEARTBEAT_TIMEOUT)
    headers = base_headers()
    headers["Accept"] = "text/event-stream"
    if state["last_id"] is not None:
        headers["Last-Event-ID"] = state["last_id"]
    try:
        wait_for_pause()
        conn.request("GET", u.path + "/api/events/stream", headers=headers)
        res = conn.getresponse()
        if res.status == 401 and reload_key():
            res.read()
            return 0
        if res.status in (401, 403):
            log(f"stream refused with {res.status}; stopping")
            stop.set()
            return 0
        if res.status != 200:
            ra = retry_after(res.headers)
            res.read()
            return ra if ra is not None else 2.0
        ev_id, ev_type, data = None, None, []
        while not stop.is_set():
            raw = res.readline()  # the socket timeout is the stall detector
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line == "":
                if ev_id is not None:
                    state["last_id"] = ev_id
                if data:
                    handle(ev_id, ev_type, "\n".join(data))
                ev_id, ev_type, data = None, None, []
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    data.append(value)
                elif field == "event":
                    ev_type = value
                elif field == "id":
                    ev_id = value
                elif field == "retry" and value.isdigit():
                    state["retry"] = int(value) / 1000
        log(f"stream closed at event {state['last_id']}")
    except TimeoutError:
        log("stream stalled: no heartbeat in time; reconnecting")
    except (OSError, http.client.HTTPException) as err:
        log(f"stream error: {type(err).__name__}")
    finally:
        conn.close()
    return None


def stream_loop():
    while not stop.is_set():
        wait = stream_once()
        if stop.is_set():
            break
        delay = (wait + random.uniform(0, 0.25)) if wait is not None else state["retry"] + random.uniform(0, 1.0)
        stop.wait(delay)


log(f"starting against {BASE}")
threads = [threading.Thread(target=f, daemon=True) for f in (rest_loop, stream_loop, span_loop)]
for t in threads:
    t.start()
while not stop.is_set():
    stop.wait(0.5)
flush_spans()
log("stopped")
