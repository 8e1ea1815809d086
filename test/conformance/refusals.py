"""The "refusals" group of the conformance scenario (issue 11): the shared request-error shape
that every API answers a malformed request with -- top-level { errorCode, errorMessage naming
the field }, INVALID_REQUEST (42) unless a specific code applies, the connection left open --
and each agreed case of optional fields, wrong types, out-of-range values, bad topic names and
a batch whose records do not decode.

Each check opens its own connections, so one that closes its socket does not hide the next.
"""

import struct

import rill_client as rc
from scenario import NOW_MS, CheckFailed, expect


def expect_request_error(conn, resp, code, field):
    """The shared shape: top-level {errorCode, errorMessage naming the field}, and the
    connection stays open (a following ApiVersions on the same socket answers)."""
    expect(isinstance(resp, dict), f"answer is {resp!r}, not a map")
    expect(resp.get("errorCode") == code, f"errorCode {resp.get('errorCode')!r}, want {code}: {resp}")
    msg = resp.get("errorMessage")
    expect(isinstance(msg, str) and msg.strip(), f"no errorMessage: {resp}")
    expect(field.lower() in msg.lower(), f"errorMessage {msg!r} does not name '{field}'")
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


# Payloads that are not one msgpack value: the byte msgpack reserves and never uses, a map
# cut short, and a whole value followed by stray bytes.
NOT_MSGPACK = {"c1 (reserved)": b"\xc1", "81 (truncated map)": b"\x81", "80 c0 (trailing bytes)": b"\x80\xc0"}


def refuse_not_msgpack(s):
    """Every API answers a payload that is not msgpack with INVALID_REQUEST and keeps the
    socket. Every API and payload is tried, and all that misbehave are listed."""
    apis = {"Produce": rc.API_PRODUCE, "Metadata": rc.API_METADATA, "CreateTopics": rc.API_CREATE_TOPICS,
            "ListOffsets": rc.API_LIST_OFFSETS, "OffsetCommit": rc.API_OFFSET_COMMIT, "Fetch": rc.API_FETCH,
            "OffsetFetch": rc.API_OFFSET_FETCH, "InitProducerId": rc.API_INIT_PRODUCER_ID}
    failures = []
    for name, api in apis.items():
        for label, payload in NOT_MSGPACK.items():
            try:
                refused(s, f"{name} with payload {label}", api, payload, rc.INVALID_REQUEST, field="")
            except CheckFailed as err:
                failures.append(str(err))
    expect(not failures, "; ".join(failures))
    return f"{len(apis)} APIs x {len(NOT_MSGPACK)} payloads"


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
        expect(res[0]["errorCode"] == rc.INVALID_RECORD and res[0].get("errorMessage"), f"poisoned batch answered {res[0]}, want INVALID_RECORD (87) with an errorMessage")
        expect(isinstance(res[0].get("errorMessage"), str) and res[0]["errorMessage"], f"no errorMessage: {res[0]}")
        expect(res[1]["errorCode"] == rc.NONE, f"good batch beside it: {res[1]}")
        after = conn.produce(topic, {0: mk(b"after")})[0]
        expect(after["errorCode"] == rc.NONE and after["baseOffset"] == 2, f"good batch after it: {after}")
        p0 = [(r["offset"], r["value"]) for r in conn.fetch_all(topic, 0)]
        p1 = [r["value"] for r in conn.fetch_all(topic, 1)]
    expect(p0 == [(0, b"before"), (1, b"before"), (2, b"after"), (3, b"after")], f"partition 0 holds {p0}")
    expect(p1 == [b"beside", b"beside"], f"partition 1 holds {p1}")


REFUSALS = [
    ("not_msgpack", refuse_not_msgpack),
    ("metadata_without_auto_create", refuse_metadata_without_auto_create),
    ("create_topics_optional_fields", refuse_create_topics_optional_fields),
    ("create_topics_bad_configs", refuse_create_topics_bad_configs),
    ("offset_commit_without_metadata", refuse_offset_commit_without_metadata),
    ("produce_acks_2", refuse_produce_acks_2),
    ("produce_records_str", refuse_produce_records_str),
    ("list_offsets_bad_timestamps", refuse_list_offsets_bad_timestamps),
    ("bad_topic_names", refuse_bad_topic_names),
    ("create_topics_default_partitions", refuse_create_topics_default_partitions),
    ("poisoned_batch", refuse_poisoned_batch),
]
