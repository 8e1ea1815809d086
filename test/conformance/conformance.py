"""Conformance scenario: drives a real rill broker with rill_client.py (written from
docs/PROTOCOL.md alone) and checks that the broker does what the spec says.

Usage: /usr/bin/python3 conformance.py HOST PORT [--sdk-topic NAME]

Prints one JSON line on stdout:
  {"checks": {name: {"group", "ok", "detail"}}, "produced": {...}, "sdkRecords": [...] | null}
and exits 0 when every check passed, else 1 after one "FAILED <check>: <why>" line per failed
check on stderr. Checks run in order and each catches its own failure, so one broken API does
not hide the others; a check that needs an earlier one's result says so when that one failed.

Two groups:
  conformance  what the spec has promised all along (framing, batches, APIs, 64-bit integers)
  refusals     the shared request-error shape and the malformed-input cases agreed in issue 11
"""

import json
import os
import struct
import sys
import time

import rill_client as rc

FIXTURES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "kafka-record-batches")
KEYED_TOPIC = "py-keyed"
KEYED_PARTITIONS = 6
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


# ------------------------------------------------------------------------------------------
# Group "conformance"
# ------------------------------------------------------------------------------------------

def check_codec_fixtures(s):
    """Kafka-written batches decode to their documented fields; uncompressed ones re-encode to
    the same bytes (from the CRC on: baseOffset and leader epoch are the broker's)."""
    files = sorted(f for f in os.listdir(FIXTURES_DIR) if f.endswith(".json"))
    expect(files, f"no fixtures in {FIXTURES_DIR}")
    batches = 0
    for name in files:
        with open(os.path.join(FIXTURES_DIR, name), encoding="utf-8") as fh:
            entries = json.load(fh)
        for entry in entries:
            raw = bytes.fromhex(entry["hex"])
            [(header, records)] = rc.decode_batches(raw)
            want = entry["header"]
            for field in ("baseOffset", "batchLength", "crc", "attributes", "lastOffsetDelta", "baseTimestamp",
                          "maxTimestamp", "producerId", "producerEpoch", "baseSequence", "recordCount"):
                expect(header[field] == int(want[field]), f"{name}: {field} {header[field]} != {want[field]}")
            got = [record_json(r) for r in records]
            for g, w in zip(got, entry["records"]):
                expect(g["offset"] == int(w["offset"]) and g["timestamp"] == int(w["timestamp"])
                       and g["key"] == w["key"] and g["value"] == w["value"]
                       and g["headers"] == [list(h) for h in w["headers"]], f"{name}: record {g} != {w}")
            expect(len(got) == len(entry["records"]), f"{name}: {len(got)} records")
            if want["compression"] == "none":
                again = rc.encode_batch(
                    [{"key": r["key"], "value": r["value"], "headers": r["headers"], "timestamp": r["timestamp"]}
                     for r in records],
                    producer_id=header["producerId"], producer_epoch=header["producerEpoch"],
                    base_sequence=header["baseSequence"])
                expect(again[8:12] == raw[8:12] and again[17:] == raw[17:], f"{name}: re-encoding differs")
            batches += 1
    return f"{batches} fixture batches"


def check_api_versions(s):
    with rc.Connection(s.host, s.port) as conn:
        resp = conn.api_versions()
    expect(resp["errorCode"] == rc.NONE, f"errorCode {resp['errorCode']}")
    versions = {k["apiKey"]: (k["minVersion"], k["maxVersion"]) for k in resp["apiKeys"]}
    for key in (rc.API_PRODUCE, rc.API_FETCH, rc.API_LIST_OFFSETS, rc.API_METADATA, rc.API_OFFSET_COMMIT,
                rc.API_OFFSET_FETCH, rc.API_CREATE_TOPICS, rc.API_INIT_PRODUCER_ID):
        expect(key in versions and versions[key][0] <= 0 <= versions[key][1], f"API {key} v0 missing: {versions}")
    return f"{len(versions)} APIs"


def check_create_and_metadata(s):
    with s.connect() as conn:
        created = conn.create_topic(KEYED_TOPIC, KEYED_PARTITIONS)
        expect(created["numPartitions"] == KEYED_PARTITIONS, f"created {created}")
        meta = conn.metadata([KEYED_TOPIC])
    expect(meta["brokers"] and all(isinstance(b["port"], int) for b in meta["brokers"]), f"brokers {meta['brokers']}")
    [topic] = meta["topics"]
    expect(topic["errorCode"] == rc.NONE and topic["name"] == KEYED_TOPIC, f"topic {topic}")
    parts = sorted(p["partition"] for p in topic["partitions"])
    expect(parts == list(range(KEYED_PARTITIONS)), f"partitions {parts}")
    leaders = {p["leader"] for p in topic["partitions"]}
    expect(leaders <= {b["nodeId"] for b in meta["brokers"]}, f"leaders {leaders} not among brokers")
    s.state["keyed_topic"] = True


def keyed_records():
    """20 keyed records with headers (one with a null header value, one a null value)."""
    out = []
    for i in range(20):
        headers = [("trace-id", f"t-{i}".encode()), ("source", b"python")]
        if i == 3:
            headers.append(("empty", None))
        out.append({"key": f"key-{i}".encode(), "value": None if i == 7 else f"value-{i} \u00e9".encode(),
                    "headers": headers, "timestamp": NOW_MS + i})
    return out


def check_produce_keyed(s):
    s.needs("keyed_topic")
    by_partition = {}
    for r in keyed_records():
        by_partition.setdefault(rc.partition_for_key(r["key"], KEYED_PARTITIONS), []).append(r)
    with s.connect() as conn:
        results = conn.produce(KEYED_TOPIC, {p: rc.encode_batch(recs) for p, recs in by_partition.items()})
    expected = []
    for p, recs in by_partition.items():
        res = results.get(p)
        expect(res is not None and res["errorCode"] == rc.NONE, f"partition {p}: {res}")
        expect(res["baseOffset"] == 0, f"partition {p} baseOffset {res['baseOffset']} (fresh topic)")
        for i, r in enumerate(recs):
            expected.append(dict(record_json({**r, "offset": res["baseOffset"] + i}), partition=p))
    s.state["keyed_expected"] = expected
    return f"{len(expected)} records over partitions {sorted(by_partition)}"


def check_fetch_decode(s):
    expected = s.needs("keyed_expected")
    got = []
    with s.connect() as conn:
        for p in range(KEYED_PARTITIONS):
            got.extend(record_json(r, p) for r in conn.fetch_all(KEYED_TOPIC, p))
    key = lambda r: (r["partition"], r["offset"])
    expect(sorted(got, key=key) == sorted(expected, key=key),
           f"fetched {sorted(got, key=key)} != produced {sorted(expected, key=key)}")
    return f"{len(got)} records"


def check_gzip_roundtrip(s):
    topic = "py-gzip"
    recs = [{"key": f"g{i}".encode(), "value": b"x" * 100, "headers": [("h", b"v")], "timestamp": NOW_MS - i}
            for i in range(5)]  # timestamps go down: deltas are negative, maxTimestamp is the first
    with s.connect() as conn:
        conn.create_topic(topic, 1)
        res = conn.produce(topic, {0: rc.encode_batch(recs, codec=rc.CODEC_GZIP)})[0]
        expect(res["errorCode"] == rc.NONE, f"produce {res}")
        got = conn.fetch_all(topic, 0)
    expect([record_json(r) for r in got] == [record_json({**r, "offset": i}) for i, r in enumerate(recs)],
           f"gzip records came back as {[record_json(r) for r in got]}")


def check_list_offsets(s):
    """Batches at T, T+1000, T+2000 and one batch of two records at T+3000, T+4000."""
    topic, t0 = "py-times", NOW_MS - 60_000
    with s.connect() as conn:
        conn.create_topic(topic, 1)
        for ts in (t0, t0 + 1000, t0 + 2000):
            r = conn.produce(topic, {0: rc.encode_batch([{"key": b"k", "value": b"v", "timestamp": ts}])})[0]
            expect(r["errorCode"] == rc.NONE, f"produce {r}")
        pair = [{"key": b"k", "value": b"v", "timestamp": t0 + 3000}, {"key": b"k", "value": b"v", "timestamp": t0 + 4000}]
        expect(conn.produce(topic, {0: rc.encode_batch(pair)})[0]["errorCode"] == rc.NONE, "produce pair")
        cases = [(-2, 0, None), (-1, 5, None), (t0 - 5, 0, t0), (t0 + 1000, 1, t0 + 1000),
                 (t0 + 1500, 2, t0 + 2000), (t0 + 3500, 4, t0 + 4000), (t0 + 9000, -1, -1)]
        for ts, want_offset, want_ts in cases:
            got = conn.list_offsets(topic, 0, ts)
            expect(got["errorCode"] == rc.NONE, f"timestamp {ts}: {got}")
            expect(got["offset"] == want_offset, f"timestamp {ts}: offset {got['offset']}, want {want_offset}")
            if want_ts is not None:
                expect(got["timestamp"] == want_ts, f"timestamp {ts}: answered timestamp {got['timestamp']}, want {want_ts}")
    s.state["times_topic"] = topic
    return f"{len(cases)} lookups"


def check_offset_commit_fetch(s):
    s.needs("keyed_topic")
    group = "py-group"
    with s.connect() as conn:
        errors = conn.offset_commit(group, KEYED_TOPIC, {0: 7, 1: 3}, metadata="from python")
        expect(errors == {0: rc.NONE, 1: rc.NONE}, f"commit errors {errors}")
        got = conn.offset_fetch(group, KEYED_TOPIC, [0, 1, 2])
    expect(got[0]["committedOffset"] == 7 and got[0]["metadata"] == "from python", f"partition 0: {got[0]}")
    expect(got[1]["committedOffset"] == 3, f"partition 1: {got[1]}")
    expect(got[2]["committedOffset"] == -1, f"partition 2 never committed: {got[2]}")
    expect(all(p["errorCode"] == rc.NONE for p in got.values()), f"errors {got}")


def check_idempotent_retry(s):
    topic = "py-idempotent"
    rec = lambda i: {"key": f"i{i}".encode(), "value": b"v", "timestamp": NOW_MS}
    with s.connect() as conn:
        conn.create_topic(topic, 1)
        pid = conn.init_producer_id()
        expect(pid["errorCode"] == rc.NONE and pid["producerId"] >= 0, f"InitProducerId {pid}")
        s.state["producer_id"] = pid["producerId"]
        ident = dict(producer_id=pid["producerId"], producer_epoch=pid["producerEpoch"])
        first = rc.encode_batch([rec(0), rec(1)], base_sequence=0, **ident)
        a = conn.produce(topic, {0: first})[0]
        again = conn.produce(topic, {0: first})[0]  # the retry: same id, epoch, sequence
        expect(a["errorCode"] == rc.NONE and again["errorCode"] == rc.NONE, f"{a} / {again}")
        expect(again["baseOffset"] == a["baseOffset"], f"retry acked at {again['baseOffset']}, original {a['baseOffset']}")
        b = conn.produce(topic, {0: rc.encode_batch([rec(2)], base_sequence=2, **ident)})[0]
        expect(b["errorCode"] == rc.NONE and b["baseOffset"] == a["baseOffset"] + 2, f"next batch {b}")
        gap = conn.produce(topic, {0: rc.encode_batch([rec(9)], base_sequence=9, **ident)})[0]
        expect(gap["errorCode"] == 45, f"sequence gap answered {gap}, want OUT_OF_ORDER_SEQUENCE_NUMBER (45)")
        values = [r["key"] for r in conn.fetch_all(topic, 0)]
    expect(values == [b"i0", b"i1", b"i2"], f"log holds {values}")


def check_log_append_time(s):
    """A message.timestamp.type=LogAppendTime topic: the broker stamps the batch (attribute bit 3,
    maxTimestamp = its clock, CRC recomputed) and readers report maxTimestamp for every record."""
    topic = "py-log-append-time"
    old = NOW_MS - 3_600_000
    recs = [{"key": b"a", "value": b"1", "timestamp": old}, {"key": b"b", "value": b"2", "timestamp": old + 5}]
    with s.connect() as conn:
        conn.create_topic(topic, 1, configs={"message.timestamp.type": "LogAppendTime"})
        res = conn.produce(topic, {0: rc.encode_batch(recs)})[0]
        expect(res["errorCode"] == rc.NONE and res["logAppendTimeMs"] >= NOW_MS, f"produce {res}")
        s.state["log_append_time_ms"] = res["logAppendTimeMs"]
        part = conn.fetch(topic, 0, 0)
    [(header, got)] = rc.decode_batches(part["records"])  # decode_batches checks the recomputed CRC
    expect(header["attributes"] & rc.ATTR_LOG_APPEND_TIME, f"attributes {header['attributes']}: bit 3 not set")
    expect(header["maxTimestamp"] == res["logAppendTimeMs"], f"maxTimestamp {header['maxTimestamp']} != {res['logAppendTimeMs']}")
    expect([r["timestamp"] for r in got] == [res["logAppendTimeMs"]] * 2, f"record timestamps {[r['timestamp'] for r in got]}")


def check_int64_are_ints(s):
    """64-bit fields must decode as msgpack integers (Python int), never float64, even at 2^53-1."""
    topic, big_ts = "py-int64", 2**53 - 1
    seen = []
    with s.connect() as conn:
        conn.create_topic(topic, 1)
        # Offset 0 at a timestamp of today (about 2^40.7 ms, what every real client meets),
        # offset 1 at the largest timestamp the spec allows.
        for ts in (NOW_MS, big_ts):
            res = conn.produce(topic, {0: rc.encode_batch([{"key": b"k", "value": b"v", "timestamp": ts}])})[0]
            expect(res["errorCode"] == rc.NONE, f"produce {res}")
        seen += [("Produce.baseOffset", res["baseOffset"]), ("Produce.logAppendTimeMs", res["logAppendTimeMs"]),
                 ("Produce.logStartOffset", res["logStartOffset"])]
        part = conn.fetch(topic, 0, 0)
        seen += [("Fetch." + f, part[f]) for f in ("highWatermark", "lastStableOffset", "logStartOffset")]
        for ts, offset, label in ((NOW_MS, 0, "now"), (big_ts, 1, "2^53-1")):
            lo = conn.list_offsets(topic, 0, ts)
            expect(lo["errorCode"] == rc.NONE and lo["offset"] == offset and lo["timestamp"] == ts,
                   f"ListOffsets at {label}: {lo}, want offset {offset} timestamp {ts}")
            seen += [(f"ListOffsets.timestamp({label})", lo["timestamp"]), ("ListOffsets.offset", lo["offset"])]
        pid = conn.init_producer_id()
        seen.append(("InitProducerId.producerId", pid["producerId"]))
        if "log_append_time_ms" in s.state:
            seen.append(("Produce.logAppendTimeMs(LogAppendTime topic)", s.state["log_append_time_ms"]))
        conn.offset_commit("py-int64-group", topic, {0: 2**53 - 2})
        committed = conn.offset_fetch("py-int64-group", topic, [0])[0]["committedOffset"]
        seen.append(("OffsetFetch.committedOffset", committed))
        expect(committed == 2**53 - 2, f"committed {committed!r}")
    bad = [f"{name}={value!r} ({type(value).__name__})" for name, value in seen if type(value) is not int]
    expect(not bad, "not msgpack integers: " + ", ".join(bad))
    return f"{len(seen)} fields"


# ------------------------------------------------------------------------------------------
# Group "refusals": the shared request-error shape, and each agreed case
# ------------------------------------------------------------------------------------------

def expect_request_error(conn, resp, code, field):
    """The shared shape: top-level {errorCode, errorMessage naming the field}, and the
    connection stays open (a following ApiVersions on the same socket answers)."""
    expect(isinstance(resp, dict), f"answer is {resp!r}, not a map")
    expect(resp.get("errorCode") == code, f"errorCode {resp.get('errorCode')!r}, want {code}: {resp}")
    msg = resp.get("errorMessage")
    expect(isinstance(msg, str) and field.lower() in msg.lower(), f"errorMessage {msg!r} does not name '{field}'")
    after = conn.api_versions()
    expect(after.get("errorCode") == rc.NONE, f"ApiVersions after the refusal: {after}")


def ask(conn, what, api, payload):
    """Sends one (possibly malformed) request; a closed connection fails the check naming it."""
    try:
        if isinstance(payload, bytes):
            return conn.send_raw(api, payload)
        return conn.request(api, payload)
    except (rc.ProtocolError, OSError) as err:
        raise CheckFailed(f"{what}: {err}") from None


def refused(s, what, api, payload, code, field):
    """A fresh connection, one malformed request, and the shared error shape in answer."""
    with s.connect() as conn:
        resp = ask(conn, what, api, payload)
        try:
            expect_request_error(conn, resp, code, field)
        except CheckFailed as err:
            raise CheckFailed(f"{what}: {err}") from None


def ensure_topic(s, name, partitions):
    """Creates a topic the refusal checks share, unless an earlier check already did."""
    with s.connect() as conn:
        result = conn.create_topics([{"name": name, "numPartitions": partitions, "replicationFactor": -1, "configs": {}}])
    code = result["topics"][0]["errorCode"]
    expect(code in (rc.NONE, 36), f"creating {name}: {result}")  # 36: TOPIC_ALREADY_EXISTS
    return name


def refuse_not_msgpack(s):
    """0xc1 is the one byte msgpack never uses; every API answers INVALID_REQUEST and keeps the
    socket. Every API is tried, and all that misbehave are listed."""
    apis = {"Produce": rc.API_PRODUCE, "Metadata": rc.API_METADATA, "CreateTopics": rc.API_CREATE_TOPICS,
            "ListOffsets": rc.API_LIST_OFFSETS, "OffsetCommit": rc.API_OFFSET_COMMIT, "Fetch": rc.API_FETCH,
            "OffsetFetch": rc.API_OFFSET_FETCH, "InitProducerId": rc.API_INIT_PRODUCER_ID}
    failures = []
    for name, api in apis.items():
        try:
            refused(s, f"{name} with payload c1", api, b"\xc1", rc.INVALID_REQUEST, "")
        except CheckFailed as err:
            failures.append(str(err))
    expect(not failures, "; ".join(failures))
    return f"{len(apis)} APIs"


REFUSALS_TOPIC = "py-refusals"


def expect_normal_answer(resp, what, key="topics"):
    expect(isinstance(resp, dict) and key in resp, f"{what}: answered {resp}, not a normal response")


def refuse_metadata_without_auto_create(s):
    """allowAutoTopicCreation is optional (default true)."""
    topic = ensure_topic(s, REFUSALS_TOPIC, 1)
    what = "Metadata without allowAutoTopicCreation"
    with s.connect() as conn:
        resp = ask(conn, what, rc.API_METADATA, {"topics": [topic]})
    expect_normal_answer(resp, what)
    [t] = resp["topics"]
    expect(t["errorCode"] == rc.NONE and len(t["partitions"]) == 1, f"{what}: topic {t}")


def refuse_create_topics_optional_fields(s):
    """timeoutMs, validateOnly and configs are optional."""
    what = "CreateTopics without timeoutMs/validateOnly/configs"
    with s.connect() as conn:
        resp = ask(conn, what, rc.API_CREATE_TOPICS,
                   {"topics": [{"name": "py-minimal", "numPartitions": 2, "replicationFactor": -1}]})
        expect_normal_answer(resp, what)
        expect(resp["topics"][0]["errorCode"] == rc.NONE, f"{what}: topic {resp['topics'][0]}")
        expect(conn.partition_count("py-minimal") == 2, "py-minimal does not have 2 partitions")


def refuse_create_topics_bad_configs(s):
    """configs must be a map of strings to strings."""
    for name, configs in (("py-cfg-list", [["retention.ms", "1000"]]), ("py-cfg-number", {"retention.ms": 1000})):
        payload = {"topics": [{"name": name, "numPartitions": 1, "replicationFactor": -1, "configs": configs}],
                   "timeoutMs": 5000, "validateOnly": False}
        refused(s, f"CreateTopics with configs={configs!r}", rc.API_CREATE_TOPICS, payload, rc.INVALID_REQUEST, "configs")
        with s.connect() as conn:
            expect(name not in [t["name"] for t in conn.metadata(None)["topics"]], f"{name} was created anyway")


def refuse_offset_commit_without_metadata(s):
    """committedMetadata is optional."""
    topic = ensure_topic(s, REFUSALS_TOPIC, 1)
    what = "OffsetCommit without committedMetadata"
    with s.connect() as conn:
        resp = ask(conn, what, rc.API_OFFSET_COMMIT, {"groupId": "py-nometa", "memberId": "", "memberEpoch": -1, "topics": [
            {"name": topic, "partitions": [{"partition": 0, "committedOffset": 4}]}]})
        expect_normal_answer(resp, what)
        expect(resp["topics"][0]["partitions"][0]["errorCode"] == rc.NONE, f"{what}: answered {resp}")
        got = conn.offset_fetch("py-nometa", topic, [0])[0]
    expect(got["committedOffset"] == 4, f"{what}: fetched {got}")


def _produce_payload(topic, records, acks=-1):
    return {"acks": acks, "timeoutMs": 5000,
            "topics": [{"name": topic, "partitions": [{"partition": 0, "records": records}]}]}


def refuse_produce_acks_2(s):
    """acks 2 is INVALID_REQUIRED_ACKS (21), and nothing is appended."""
    topic = ensure_topic(s, REFUSALS_TOPIC, 1)
    batch = rc.encode_batch([{"key": b"k", "value": b"v", "timestamp": NOW_MS}])
    with s.connect() as conn:
        before = conn.list_offsets(topic, 0, -1)["offset"]
    refused(s, "Produce with acks 2", rc.API_PRODUCE, _produce_payload(topic, batch, acks=2), rc.INVALID_REQUIRED_ACKS, "acks")
    with s.connect() as conn:
        expect(conn.list_offsets(topic, 0, -1)["offset"] == before, "the acks=2 batch was appended")


def refuse_produce_records_str(s):
    topic = ensure_topic(s, REFUSALS_TOPIC, 1)
    refused(s, "Produce with records as a msgpack str", rc.API_PRODUCE, _produce_payload(topic, "not a bin"),
            rc.INVALID_REQUEST, "records")


def refuse_list_offsets_bad_timestamps(s):
    """A timestamp must be an integer within +-(2^53-1)."""
    topic = ensure_topic(s, REFUSALS_TOPIC, 1)
    failures = []
    for ts in (5.5, 2**60):
        payload = {"topics": [{"name": topic, "partitions": [{"partition": 0, "timestamp": ts}]}]}
        try:
            refused(s, f"ListOffsets timestamp {ts!r}", rc.API_LIST_OFFSETS, payload, rc.INVALID_REQUEST, "timestamp")
        except CheckFailed as err:
            failures.append(str(err))
    expect(not failures, "; ".join(failures))


def refuse_bad_topic_names(s):
    """Bad names are a per-topic INVALID_TOPIC_EXCEPTION (17) in CreateTopics' normal response."""
    failures = []
    for name in ("", "t" * 300):
        what = f"CreateTopics name of {len(name)} chars"
        try:
            with s.connect() as conn:
                resp = ask(conn, what, rc.API_CREATE_TOPICS,
                           {"topics": [{"name": name, "numPartitions": 1, "replicationFactor": -1, "configs": {}}]})
            expect_normal_answer(resp, what)
            code = resp["topics"][0]["errorCode"]
            expect(code == rc.INVALID_TOPIC_EXCEPTION, f"{what}: errorCode {code}, want INVALID_TOPIC_EXCEPTION (17)")
        except CheckFailed as err:
            failures.append(str(err))
    expect(not failures, "; ".join(failures))


def refuse_create_topics_default_partitions(s):
    """Without numPartitions the broker's num.partitions applies, as with numPartitions -1."""
    what = "CreateTopics without numPartitions"
    with s.connect() as conn:
        resp = ask(conn, what, rc.API_CREATE_TOPICS, {"topics": [{"name": "py-default-parts", "replicationFactor": -1}]})
        expect_normal_answer(resp, what)
        expect(resp["topics"][0]["errorCode"] == rc.NONE, f"{what}: topic {resp['topics'][0]}")
        conn.create_topic("py-minus-one-parts", -1)
        got, want = conn.partition_count("py-default-parts"), conn.partition_count("py-minus-one-parts")
    expect(got == want, f"{what}: {got} partitions, but {want} with numPartitions -1 (num.partitions)")
    return f"{got} partitions"


def poison_record_length(batch):
    """The batch with its first record's length varint one larger (the record now claims a byte
    it does not have), batchLength adjusted if the varint grew, and the CRC recomputed: a batch
    that passes every header check and fails only on decoding its records."""
    length, after = rc.read_varint(batch, rc.BATCH_HEADER_BYTES)
    records = rc.zigzag_varint(length + 1) + batch[after:]
    body = batch[:rc.BATCH_HEADER_BYTES] + records
    body = body[:8] + struct.pack(">i", len(body) - rc.LOG_OVERHEAD_BYTES) + body[12:]
    return rc.recompute_crc(body)


def refuse_poisoned_batch(s):
    topic = "py-poison"
    mk = lambda v: rc.encode_batch([{"key": b"k", "value": v, "timestamp": NOW_MS}, {"key": b"k2", "value": v, "timestamp": NOW_MS}])
    with s.connect() as conn:
        conn.create_topic(topic, 2)
        before = conn.produce(topic, {0: mk(b"before")})[0]
        expect(before["errorCode"] == rc.NONE, f"good batch {before}")
        # The poisoned batch beside a good one for another partition in the same request.
        res = conn.produce(topic, {0: poison_record_length(mk(b"poison")), 1: mk(b"beside")})
        expect(res[0]["errorCode"] == rc.CORRUPT_MESSAGE, f"poisoned batch answered {res[0]}, want CORRUPT_MESSAGE (2)")
        expect(isinstance(res[0].get("errorMessage"), str) and res[0]["errorMessage"], f"no errorMessage: {res[0]}")
        expect(res[1]["errorCode"] == rc.NONE, f"good batch beside it: {res[1]}")
        after = conn.produce(topic, {0: mk(b"after")})[0]
        expect(after["errorCode"] == rc.NONE and after["baseOffset"] == 2, f"good batch after it: {after}")
        p0 = [(r["offset"], r["value"]) for r in conn.fetch_all(topic, 0)]
        p1 = [r["value"] for r in conn.fetch_all(topic, 1)]
    expect(p0 == [(0, b"before"), (1, b"before"), (2, b"after"), (3, b"after")], f"partition 0 holds {p0}")
    expect(p1 == [b"beside", b"beside"], f"partition 1 holds {p1}")


# ------------------------------------------------------------------------------------------

CHECKS = [
    ("conformance", "codec_fixtures", check_codec_fixtures),
    ("conformance", "api_versions", check_api_versions),
    ("conformance", "create_topic_metadata", check_create_and_metadata),
    ("conformance", "produce_keyed_murmur2", check_produce_keyed),
    ("conformance", "fetch_decode", check_fetch_decode),
    ("conformance", "gzip_roundtrip", check_gzip_roundtrip),
    ("conformance", "list_offsets", check_list_offsets),
    ("conformance", "offset_commit_fetch", check_offset_commit_fetch),
    ("conformance", "idempotent_retry", check_idempotent_retry),
    ("conformance", "log_append_time", check_log_append_time),
    ("conformance", "int64_are_ints", check_int64_are_ints),
    ("refusals", "not_msgpack", refuse_not_msgpack),
    ("refusals", "metadata_without_auto_create", refuse_metadata_without_auto_create),
    ("refusals", "create_topics_optional_fields", refuse_create_topics_optional_fields),
    ("refusals", "create_topics_bad_configs", refuse_create_topics_bad_configs),
    ("refusals", "offset_commit_without_metadata", refuse_offset_commit_without_metadata),
    ("refusals", "produce_acks_2", refuse_produce_acks_2),
    ("refusals", "produce_records_str", refuse_produce_records_str),
    ("refusals", "list_offsets_bad_timestamps", refuse_list_offsets_bad_timestamps),
    ("refusals", "bad_topic_names", refuse_bad_topic_names),
    ("refusals", "create_topics_default_partitions", refuse_create_topics_default_partitions),
    ("refusals", "poisoned_batch", refuse_poisoned_batch),
]


def read_sdk_topic(s, topic):
    """Every record of a topic written by the TypeScript SDK, with its partition, for the test
    to compare with what it sent."""
    with s.connect() as conn:
        return [record_json(r, p) for p in range(conn.partition_count(topic)) for r in conn.fetch_all(topic, p)]


def main(argv):
    if len(argv) < 3:
        print("usage: conformance.py HOST PORT [--sdk-topic NAME]", file=sys.stderr)
        return 2
    s = Scenario(argv[1], int(argv[2]))
    sdk_topic = argv[argv.index("--sdk-topic") + 1] if "--sdk-topic" in argv else None
    for group, name, fn in CHECKS:
        s.run(group, name, fn)
    sdk_records = None
    if sdk_topic is not None:
        s.run("conformance", "read_sdk_topic", lambda _s: s.state.__setitem__("sdk", read_sdk_topic(s, sdk_topic)))
        sdk_records = s.state.get("sdk")
    out = {"checks": s.results,
           "produced": {"topic": KEYED_TOPIC, "partitions": KEYED_PARTITIONS, "records": s.state.get("keyed_expected", [])},
           "sdkRecords": sdk_records}
    print(json.dumps(out))
    failed = [(n, r["detail"]) for n, r in s.results.items() if not r["ok"]]
    for name, detail in failed:
        print(f"FAILED {name}: {detail}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
