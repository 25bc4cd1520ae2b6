"""Schemathesis hooks for `.ci/schemathesis`: sign every request and feed real ids back in.

Loaded through SCHEMATHESIS_HOOKS=schemathesis_hooks (with .ci/ on PYTHONPATH). Reads:
  KOOBACKUP_ST_BASE_URL    the server under test, e.g. http://127.0.0.1:43123
  KOOBACKUP_ST_USER        the user id the server accepts
  KOOBACKUP_ST_SCHEME      `bearer` (default) or `app`
  KOOBACKUP_ST_TOKEN_FILE  bearer: a file whose first line is that user's token
  KOOBACKUP_ST_APP_ID      app: the app id the server accepts
  KOOBACKUP_ST_SECRET_FILE app: a file whose first line is the app secret

With `app`, every request is signed as it is sent (`_sign_prepared`, below the transport, so the
signature covers the exact path, query and body bytes on the wire) by an implementation of the
reference's "App-based Authentication Generation Rule" written here from its text, independent
of koobackup's own: the server accepting these requests is the "vice versa" of the Rust tests, in
which koobackup's client signs. A request refused for its signature fails the run.

Why hooks and not `--header`: X-Date must be within 15 minutes of the server clock and never
later than it, so it is computed when each request is sent. And randomly generated lock and
record ids only ever reach the "not found" branches; so every other request of an operation
that takes them uses an id the server really issued (harvested from earlier responses, or
created at start-up), which drives the success and conflict paths through the response checks
too. Header fuzzing (bad tokens, bad dates) is covered by tests/prop_server_requests.rs.
"""

import datetime
import hashlib
import hmac
import json
import os
import random
import threading
import urllib.parse

import requests
import requests.adapters
import schemathesis

PREFIX = "/koodrive/ose/v1/backup"
MODULES = ("100", "101", "102")

BASE_URL = os.environ["KOOBACKUP_ST_BASE_URL"].rstrip("/")
USER = os.environ["KOOBACKUP_ST_USER"]
SCHEME = os.environ.get("KOOBACKUP_ST_SCHEME", "bearer")


def _first_line(variable):
    with open(os.environ[variable], encoding="utf-8") as file:
        return file.readline().strip()


if SCHEME == "app":
    APP_ID = os.environ["KOOBACKUP_ST_APP_ID"]
    APP_SECRET = _first_line("KOOBACKUP_ST_SECRET_FILE")
else:
    TOKEN = _first_line("KOOBACKUP_ST_TOKEN_FILE")

# Fixed seed: a run is reproducible together with schemathesis' own --seed.
_random = random.Random(20251103)
_guard = threading.Lock()
# Ids the server issued to this user: module -> lock ids, record id -> module, device ids.
_locks = {module: [] for module in MODULES}
_records = {}
_devices = []


def _x_date():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _signed(headers):
    """The identity headers; with `app` the Authorization header is added when the request is
    sent (`_sign_prepared`)."""
    headers = dict(headers or {})
    for name in list(headers):
        if name.lower() in ("authorization", "x-user-id", "x-date"):
            del headers[name]
    if SCHEME != "app":
        headers["Authorization"] = f"Bearer {TOKEN}"
    headers["X-User-Id"] = USER
    headers["X-Date"] = _x_date()
    return headers


# --- App-based authentication, from the reference's text ------------------------------------


def _enc(text):
    """RFC 3986 unreserved characters as they are, every other UTF-8 byte as %XY."""
    return urllib.parse.quote(text, safe="-_.~")


def _canonical_uri(path):
    kept = []
    for segment in path.split("/"):
        if not segment:
            continue
        segment = urllib.parse.unquote(segment, errors="replace")
        if segment == ".":
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    return "/" + "".join(_enc(segment) + "/" for segment in kept)


def _canonical_query(query):
    pairs = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        decode = lambda text: urllib.parse.unquote(text, errors="replace")  # '+' stays '+'
        pairs.append((_enc(decode(name)), _enc(decode(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def _sign_prepared(request):
    url = urllib.parse.urlsplit(request.url)
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = {
        "host": url.netloc,
        "x-date": request.headers["X-Date"].strip(),
        "x-user-id": request.headers["X-User-Id"].strip(),
    }
    request.headers["Host"] = url.netloc
    names = sorted(headers)
    canonical = "\n".join(
        [
            request.method.upper(),
            _canonical_uri(url.path),
            _canonical_query(url.query),
            "".join(f"{name}:{headers[name]}\n" for name in names),
            ";".join(names),
            _sha256_hex(body),
        ]
    )
    to_sign = "HMAC-SHA256\n" + _sha256_hex(canonical.encode("utf-8"))
    signature = hmac.new(APP_SECRET.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    request.headers["Authorization"] = (
        f"HMAC-SHA256 AppId={APP_ID},SignedHeaders={';'.join(names)},Signature={signature}"
    )


if SCHEME == "app":
    _send = requests.adapters.HTTPAdapter.send

    def _send_signed(self, request, *args, **kwargs):
        # Schemathesis drops required headers to test their absence: such a request cannot be
        # signed as the rule asks, and is refused for what it lacks.
        if "X-User-Id" in request.headers and "X-Date" in request.headers:
            _sign_prepared(request)
        return _send(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = _send_signed


def _remember_lock(lock_id):
    module = lock_id.rsplit("@", 1)[-1]
    if module in _locks and lock_id not in _locks[module]:
        _locks[module].append(lock_id)


_session = requests.Session()


def _create_lock(module):
    """Creates a lock directly. Every lock of this user went through `_remember_lock` (seeded here
    or harvested in `after_call`), so when none is known for a module, none is live."""
    response = _session.post(
        f"{BASE_URL}{PREFIX}/lock",
        json={"moduleCode": module},
        headers=_signed({}),
        timeout=30,
    )
    response.raise_for_status()
    lock_id = response.json()["data"]["lockId"]
    _remember_lock(lock_id)
    return lock_id


def _seed():
    """One lock per module and two records under each, and a bound device, so real ids exist
    from the first case."""
    response = _session.post(
        f"{BASE_URL}{PREFIX}/device",
        json={"machineCode": "SCHEMATHESIS_1", "deviceName": "seed device"},
        headers=_signed({}),
        timeout=30,
    )
    response.raise_for_status()
    _devices.append(response.json()["data"]["deviceId"])
    for module in MODULES:
        lock_id = _create_lock(module)
        for device in ("seed-laptop", "seed-phone"):
            response = _session.post(
                f"{BASE_URL}{PREFIX}/record",
                json={"moduleCode": module, "deviceId": device, "properties": '{"seed":true}'},
                headers=_signed({"x-backup-lock-id": lock_id}),
                timeout=30,
            )
            response.raise_for_status()
            _records[response.json()["data"]["recordId"]] = module


_seed()


def _module_of(case):
    """The module a lock header should be for: the record's, else the body's, else any."""
    record_id = (case.path_parameters or {}).get("recordId")
    if record_id in _records:
        return _records[record_id]
    body = case.body if isinstance(case.body, dict) else {}
    module = str(body.get("moduleCode", ""))
    return module if module in _locks else _random.choice(MODULES)


def _headers_without(headers, name):
    return {k: v for k, v in (headers or {}).items() if k.lower() != name}


@schemathesis.hook
def before_call(context, case, **kwargs):
    with _guard:
        path_parameters = case.path_parameters
        if path_parameters and "recordId" in path_parameters and _records and _random.random() < 0.5:
            case.path_parameters = {**path_parameters, "recordId": _random.choice(list(_records))}
        path_parameters = case.path_parameters
        if path_parameters and "deviceId" in path_parameters and _devices and _random.random() < 0.7:
            case.path_parameters = {**path_parameters, "deviceId": _random.choice(_devices)}
        headers = case.headers
        if headers is not None and any(k.lower() == "x-backup-lock-id" for k in headers):
            if _random.random() < 0.5:
                module = _module_of(case)
                if not _locks[module]:
                    _create_lock(module)
                headers = _headers_without(headers, "x-backup-lock-id")
                headers["x-backup-lock-id"] = _random.choice(_locks[module])
        case.headers = _signed(headers)


@schemathesis.hook
def after_call(context, case, response):
    """Harvests the lock and record ids the server hands out, and forgets released ones. With
    `app`, a signature the server refused fails the run: the two readings of the rule differ."""
    if SCHEME == "app" and response.status_code == 401 and b"signature does not match" in response.content:
        raise AssertionError(f"the server refused an app signature: {response.request.method} {response.request.url}")
    if response.status_code != 200:
        return
    request = response.request
    if request.method == "DELETE" and request.path_url.split("?")[0].endswith("/lock"):
        released = request.headers.get("x-backup-lock-id", "")
        with _guard:
            for locks in _locks.values():
                if released in locks:
                    locks.remove(released)
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        return
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return
    with _guard:
        if isinstance(data.get("lockId"), str):
            _remember_lock(data["lockId"])
        if isinstance(data.get("recordId"), str) and data.get("moduleCode") in _locks:
            _records[data["recordId"]] = data["moduleCode"]
        if isinstance(data.get("deviceId"), str) and "machineCode" in data:
            if request.method == "DELETE":
                if data["deviceId"] in _devices and len(_devices) > 1:
                    _devices.remove(data["deviceId"])
            elif data["deviceId"] not in _devices:
                _devices.append(data["deviceId"])
