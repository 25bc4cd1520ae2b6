"""Schemathesis hooks for `.ci/schemathesis`: sign every request and feed real ids back in.

Loaded through SCHEMATHESIS_HOOKS=schemathesis_hooks (with .ci/ on PYTHONPATH). Reads:
  KOOBACKUP_ST_BASE_URL    the server under test, e.g. http://127.0.0.1:43123
  KOOBACKUP_ST_USER        the user id the server accepts
  KOOBACKUP_ST_TOKEN_FILE  a file whose first line is that user's token

Why hooks and not `--header`: X-Date must be within 15 minutes of the server clock and never
later than it, so it is computed when each request is sent. And randomly generated lock and
record ids only ever reach the "not found" branches; so every other request of an operation
that takes them uses an id the server really issued (harvested from earlier responses, or
created at start-up), which drives the success and conflict paths through the response checks
too. Header fuzzing (bad tokens, bad dates) is covered by tests/prop_server_requests.rs.
"""

import datetime
import json
import os
import random
import threading

import requests
import schemathesis

PREFIX = "/koodrive/ose/v1/backup"
MODULES = ("100", "101", "102")

BASE_URL = os.environ["KOOBACKUP_ST_BASE_URL"].rstrip("/")
USER = os.environ["KOOBACKUP_ST_USER"]
with open(os.environ["KOOBACKUP_ST_TOKEN_FILE"], encoding="utf-8") as token_file:
    TOKEN = token_file.readline().strip()

# Fixed seed: a run is reproducible together with schemathesis' own --seed.
_random = random.Random(20251103)
_guard = threading.Lock()
# Ids the server issued to this user: module -> lock ids, and record id -> module.
_locks = {module: [] for module in MODULES}
_records = {}


def _x_date():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _signed(headers):
    headers = dict(headers or {})
    for name in list(headers):
        if name.lower() in ("authorization", "x-user-id", "x-date"):
            del headers[name]
    headers["Authorization"] = f"Bearer {TOKEN}"
    headers["X-User-Id"] = USER
    headers["X-Date"] = _x_date()
    return headers


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
    """One lock per module and two records under each, so real ids exist from the first case."""
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
    """Harvests the lock and record ids the server hands out, and forgets released ones."""
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
