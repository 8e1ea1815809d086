"""Conformance scenario: drives a real rill broker with rill_client.py (written from
docs/PROTOCOL.md alone) and checks that the broker does what the spec says.

Usage: /usr/bin/python3 conformance.py HOST PORT [--sdk-topic NAME]

Prints one JSON line on stdout:
  {"checks": {name: {"group", "ok", "detail"}}, "produced": {...}, "sdkRecords": [...] | null}
and exits 0 when every check passed, else 1 after one "FAILED <check>: <why>" line per failed
check on stderr. Checks run in order and each catches its own failure, so one broken API does
not hide the others; a check that needs an earlier one's result says so when that one failed.

Two groups:
  conformance  what the spec has promised all along (framing, batches, APIs, 64-bit integers);
               this file
  refusals     the shared request-error shape and the malformed-input cases agreed in issue 11;
               refusals.py
The check runner they share is scenario.py; the client itself is rill_client.py.
"""

import json
import os
import sys

import rill_client as rc
from refusals import REFUSALS
from scenario import NOW_MS, Scenario, expect, record_json

FIXTURES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "kafka-record-batches")
KEYED_TOPIC = "py-keyed"
KEYED_PARTITIONS = 6


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
        # The file's batches back to back, the last cut short: a reader keeps the whole ones.
        stream = b"".join(bytes.fromhex(e["hex"]) for e in entries)
        expect(len(rc.decode_batches(stream[:-5])) == len(entries) - 1, f"{name}: partial last batch not dropped")
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


def check_produce_acks_0(s):
    """acks 0 gets no response: the next answer on the socket is the next request's."""
    topic = "py-acks0"
    with s.connect() as conn:
        conn.create_topic(topic, 1)
        batch = rc.encode_batch([{"key": b"k", "value": b"fire and forget", "timestamp": NOW_MS}])
        conn.send_no_response(rc.API_PRODUCE, {"acks": 0, "timeoutMs": 5000, "topics": [
            {"name": topic, "partitions": [{"partition": 0, "records": batch}]}]})
        after = conn.api_versions()  # send_raw raises if this answer carries another correlationId
        expect(after["errorCode"] == rc.NONE, f"ApiVersions after acks 0: {after}")
        # The spec orders responses, not an unanswered produce against later reads: a long poll
        # (minBytes 1) waits for the append instead of racing it.
        part = conn.fetch(topic, 0, 0, max_wait_ms=5000)
        got = [r["value"] for _, recs in rc.decode_batches(part["records"]) for r in recs]
    expect(got == [b"fire and forget"], f"log holds {got}")


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


def check_fetch_limits(s):
    """KIP-74 and partial batches: a fetch smaller than the first batch still gets that whole
    batch; one cut inside the second batch gets the first whole and the rest dropped; a fetch
    from inside a batch gets the whole batch, whose records below fetchOffset are skipped."""
    topic = s.needs("times_topic")  # batches at offsets 0, 1, 2 and one holding 3-4
    with s.connect() as conn:
        tiny = conn.fetch(topic, 0, 0, max_bytes=1)
        batches = rc.decode_batches(tiny["records"])
        expect(batches and batches[0][0]["baseOffset"] == 0, f"maxBytes 1: batches {[h for h, _ in batches]}")
        first_size = rc.LOG_OVERHEAD_BYTES + batches[0][0]["batchLength"]
        cut = conn.fetch(topic, 0, 0, max_bytes=first_size + 20)
        expect(len(cut["records"]) <= first_size + 20, f"maxBytes {first_size + 20}: {len(cut['records'])} bytes came back")
        whole = rc.decode_batches(cut["records"])
        expect([h["baseOffset"] for h, _ in whole][:1] == [0], f"maxBytes {first_size + 20}: batches {[h for h, _ in whole]}")
        mid = conn.fetch(topic, 0, 4)
        [(header, recs)] = rc.decode_batches(mid["records"])
    expect(header["baseOffset"] == 3 and [r["offset"] for r in recs if r["offset"] >= 4] == [4],
           f"fetch from offset 4: batch at {header['baseOffset']} with offsets {[r['offset'] for r in recs]}")
    return f"cut fetch: {len(whole)} whole batch(es), {len(cut['records']) - sum(12 + h['batchLength'] for h, _ in whole)} bytes of partial tail"


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

CHECKS = [
    ("conformance", "codec_fixtures", check_codec_fixtures),
    ("conformance", "api_versions", check_api_versions),
    ("conformance", "create_topic_metadata", check_create_and_metadata),
    ("conformance", "produce_keyed_murmur2", check_produce_keyed),
    ("conformance", "fetch_decode", check_fetch_decode),
    ("conformance", "gzip_roundtrip", check_gzip_roundtrip),
    ("conformance", "produce_acks_0", check_produce_acks_0),
    ("conformance", "list_offsets", check_list_offsets),
    ("conformance", "fetch_limits", check_fetch_limits),
    ("conformance", "offset_commit_fetch", check_offset_commit_fetch),
    ("conformance", "idempotent_retry", check_idempotent_retry),
    ("conformance", "log_append_time", check_log_append_time),
    ("conformance", "int64_are_ints", check_int64_are_ints),
] + [("refusals", name, fn) for name, fn in REFUSALS]


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
        def check_read_sdk_topic(s):
            s.state["sdk"] = read_sdk_topic(s, sdk_topic)
            return f"{len(s.state['sdk'])} records"
        s.run("conformance", "read_sdk_topic", check_read_sdk_topic)
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
