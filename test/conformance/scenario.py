"""What the conformance checks share: the per-check runner (each check catches its own
failure and reports it by name), the expect() helper, and the JSON form of a decoded record."""

import time

import rill_client as rc

NOW_MS = int(time.time() * 1000)


class CheckFailed(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise CheckFailed(message)


class Scenario:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.results = {}
        self.state = {}

    def connect(self):
        conn = rc.Connection(self.host, self.port)
        versions = conn.api_versions()  # "Send ApiVersions first"
        expect(versions.get("errorCode") == rc.NONE, f"ApiVersions failed: {versions}")
        return conn

    def run(self, group, name, fn):
        try:
            detail = fn(self) or "ok"
            self.results[name] = {"group": group, "ok": True, "detail": detail}
        except Exception as err:  # every failure is reported per check, never fatal to the run
            kind = "" if isinstance(err, CheckFailed) else f"{type(err).__name__}: "
            self.results[name] = {"group": group, "ok": False, "detail": f"{kind}{err}"}

    def needs(self, key):
        expect(key in self.state, f"needs the result of an earlier check that failed ({key})")
        return self.state[key]


def as_text(b):
    return None if b is None else b.decode("utf-8")


def record_json(r, partition=None):
    out = {"offset": r["offset"], "timestamp": r["timestamp"], "key": as_text(r["key"]),
           "value": as_text(r["value"]), "headers": [[k, as_text(v)] for k, v in r["headers"]]}
    if partition is not None:
        out["partition"] = partition
    return out
