"""A minimal rill client in Python, written from docs/PROTOCOL.md alone.

Its purpose is to keep the spec honest: if this client can talk to a real broker, the spec is
enough to write a client in another language. It uses Debian's python3-msgpack and
python3-crc32c and the standard library, nothing else.

What it implements, by section of docs/PROTOCOL.md:
  "Framing"                 Connection.request / send_raw / _read_frame
  "Record batches"          encode_batch / decode_batches (uncompressed and gzip)
  "Varints"                 zigzag_varint / read_varint
  "CRC"                     crc32c.crc32c (CRC-32C, checked against the spec's check values)
  "Partitioning by key"     murmur2 / partition_for_key
  "APIs"                    one method per API on Connection (ApiVersions, Metadata,
                            CreateTopics, Produce, Fetch, ListOffsets, InitProducerId,
                            OffsetCommit, OffsetFetch)
"""

import socket
import struct
import zlib

import crc32c as _crc32c
import msgpack

# API keys, from "The APIs".
API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_OFFSET_COMMIT = 8
API_OFFSET_FETCH = 9
API_API_VERSIONS = 18
API_CREATE_TOPICS = 19
API_INIT_PRODUCER_ID = 22

# Error codes used by this client and its scenario, from "Error codes".
NONE = 0
CORRUPT_MESSAGE = 2
INVALID_RECORD = 87
INVALID_TOPIC_EXCEPTION = 17
INVALID_REQUIRED_ACKS = 21
INVALID_REQUEST = 42

# "Framing": the body starts with apiKey:u16 apiVersion:u16 correlationId:u32.
REQUEST_HEADER = struct.Struct(">HHI")
RESPONSE_HEADER = struct.Struct(">I")
FRAME_SIZE = struct.Struct(">I")
# A response larger than this is treated as a protocol error rather than buffered blindly.
MAX_RESPONSE_BYTES = 64 << 20

# "Batch header (61 bytes)": every field after the 12-byte log overhead.
BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")
BATCH_HEADER_BYTES = 61
LOG_OVERHEAD_BYTES = 12
CRC_START = 21
CODEC_NONE = 0
CODEC_GZIP = 1
ATTR_CODEC_MASK = 0x07
ATTR_LOG_APPEND_TIME = 0x08

SAFE_INT_MAX = 2**53 - 1


class ProtocolError(Exception):
    """The broker answered something the spec does not allow (or did not answer)."""


# --------------------------------------------------------------------------------------------
# "Varints": zig-zag base-128, at most 5 bytes for a varint and 10 for a varlong.
# --------------------------------------------------------------------------------------------

def zigzag_varint(n, bits=32):
    """Encodes n as a zig-zag varint (bits=32) or varlong (bits=64)."""
    if not -(1 << (bits - 1)) <= n < (1 << (bits - 1)):
        raise ValueError(f"{n} does not fit a {bits}-bit varint")
    z = ((n << 1) ^ (n >> (bits - 1))) & ((1 << bits) - 1)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def read_varint(buf, pos, bits=32):
    """Decodes a zig-zag varint/varlong at buf[pos]; returns (value, next position)."""
    max_bytes = 5 if bits == 32 else 10
    z = 0
    for i in range(max_bytes):
        if pos + i >= len(buf):
            raise ProtocolError("varint runs past the end of its buffer")
        b = buf[pos + i]
        z |= (b & 0x7F) << (7 * i)
        if b < 0x80:
            return (z >> 1) ^ -(z & 1), pos + i + 1
    raise ProtocolError(f"varint longer than {max_bytes} bytes")


# --------------------------------------------------------------------------------------------
# "CRC": CRC-32C of bytes 21 .. end of batch.
# --------------------------------------------------------------------------------------------

def crc32c(data):
    return _crc32c.crc32c(data)


# --------------------------------------------------------------------------------------------
# "Partitioning records by key": Kafka's murmur2, 32-bit wrap-around, signed result.
# --------------------------------------------------------------------------------------------

def murmur2(data):
    """MurmurHash2 with Kafka's seed and constants; returns a signed int32 as Java does."""
    mask = 0xFFFFFFFF
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    blocks = length // 4
    for i in range(blocks):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail = data[4 * blocks:]
    if len(tail) == 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key, num_partitions):
    """The Java client's default partition for a non-null key: toPositive, not abs()."""
    return (murmur2(key) & 0x7FFFFFFF) % num_partitions


# --------------------------------------------------------------------------------------------
# "Record batches": RecordBatch v2, encoded by hand.
# --------------------------------------------------------------------------------------------

def _bytes_field(value):
    """keyLength/valueLength varint then the bytes; -1 for None."""
    if value is None:
        return zigzag_varint(-1)
    return zigzag_varint(len(value)) + value


def encode_record(offset_delta, timestamp_delta, key, value, headers):
    """One record of "Records": length varint, then the body it counts."""
    body = bytearray(b"\x00")  # attributes, unused
    body += zigzag_varint(timestamp_delta, 64)
    body += zigzag_varint(offset_delta)
    body += _bytes_field(key)
    body += _bytes_field(value)
    body += zigzag_varint(len(headers))
    for hkey, hvalue in headers:
        body += _bytes_field(hkey.encode("utf-8"))  # header keys are UTF-8, never null
        body += _bytes_field(hvalue)
    return zigzag_varint(len(body)) + bytes(body)


def encode_batch(records, producer_id=-1, producer_epoch=-1, base_sequence=-1, codec=CODEC_NONE):
    """A producer's batch: baseOffset 0, leader epoch -1, offset deltas 0..n-1.

    records: list of dicts with key (bytes|None), value (bytes|None), headers
    ([(str, bytes|None)]) and timestamp (ms).
    """
    if not records:
        raise ValueError("a produced batch needs at least one record")
    base_ts = records[0]["timestamp"]
    max_ts = max(r["timestamp"] for r in records)
    section = b"".join(
        encode_record(i, r["timestamp"] - base_ts, r.get("key"), r.get("value"), r.get("headers", []))
        for i, r in enumerate(records)
    )
    if codec == CODEC_GZIP:
        gz = zlib.compressobj(wbits=31)  # wbits 31: a gzip (RFC 1952) stream
        section = gz.compress(section) + gz.flush()
    elif codec != CODEC_NONE:
        raise ValueError(f"codec {codec} is not supported by this client (none and gzip only)")
    after_crc = struct.pack(">hiqqqhii", codec, len(records) - 1, base_ts, max_ts,
                            producer_id, producer_epoch, base_sequence, len(records)) + section
    batch_length = BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES + len(section)
    return struct.pack(">qiibI", 0, batch_length, -1, 2, crc32c(after_crc)) + after_crc


def recompute_crc(batch):
    """Returns the batch with its CRC field set for its current bytes 21..end."""
    return batch[:17] + struct.pack(">I", crc32c(batch[CRC_START:])) + batch[CRC_START:]


def _decode_records(section, count, header):
    """The records of one batch (section already decompressed), as dicts with absolute offsets."""
    records, pos = [], 0
    for _ in range(count):
        length, pos = read_varint(section, pos)
        end = pos + length
        if length < 0 or end > len(section):
            raise ProtocolError("record length runs past the batch")
        pos += 1  # attributes
        ts_delta, pos = read_varint(section, pos, 64)
        offset_delta, pos = read_varint(section, pos)
        key, pos = _read_bytes_field(section, pos)
        value, pos = _read_bytes_field(section, pos)
        header_count, pos = read_varint(section, pos)
        headers = []
        for _ in range(header_count):
            hkey, pos = _read_bytes_field(section, pos)
            hvalue, pos = _read_bytes_field(section, pos)
            headers.append((hkey.decode("utf-8"), hvalue))
        if pos != end:
            raise ProtocolError(f"record body is {pos - (end - length)} bytes, its length says {length}")
        log_append = header["attributes"] & ATTR_LOG_APPEND_TIME
        records.append({
            "offset": header["baseOffset"] + offset_delta,
            # "Timestamp types": LogAppendTime batches report maxTimestamp for every record.
            "timestamp": header["maxTimestamp"] if log_append else header["baseTimestamp"] + ts_delta,
            "key": key,
            "value": value,
            "headers": headers,
        })
    if pos != len(section):
        raise ProtocolError("records do not fill the batch's records section")
    return records


def _read_bytes_field(buf, pos):
    n, pos = read_varint(buf, pos)
    if n < 0:
        return None, pos
    if pos + n > len(buf):
        raise ProtocolError("field runs past the end of its record")
    return bytes(buf[pos:pos + n]), pos + n


def decode_batches(data):
    """Whole batches in data (a Fetch's records bin, or fixtures); a trailing partial one is dropped.

    Returns a list of (header dict, records list). Checks magic and CRC as a reader should.
    """
    out, pos = [], 0
    while pos + LOG_OVERHEAD_BYTES <= len(data):
        (batch_length,) = struct.unpack_from(">i", data, pos + 8)
        end = pos + LOG_OVERHEAD_BYTES + batch_length
        if end > len(data):
            break  # partial batch at the end of a fetch: ignored
        if batch_length < BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES:
            raise ProtocolError(f"batchLength {batch_length} < 49")
        fields = BATCH_HEADER.unpack_from(data, pos)
        names = ("baseOffset", "batchLength", "partitionLeaderEpoch", "magic", "crc", "attributes",
                 "lastOffsetDelta", "baseTimestamp", "maxTimestamp", "producerId",
                 "producerEpoch", "baseSequence", "recordCount")
        header = dict(zip(names, fields))
        if header["magic"] != 2:
            raise ProtocolError(f"magic {header['magic']}")
        if crc32c(data[pos + CRC_START:end]) != header["crc"]:
            raise ProtocolError(f"CRC mismatch in the batch at offset {header['baseOffset']}")
        section = bytes(data[pos + BATCH_HEADER_BYTES:end])
        codec = header["attributes"] & ATTR_CODEC_MASK
        if codec == CODEC_GZIP:
            section = zlib.decompress(section, wbits=31)
        elif codec != CODEC_NONE:
            raise ProtocolError(f"codec {codec} not supported by this client")
        out.append((header, _decode_records(section, header["recordCount"], header)))
        pos = end
    return out


# --------------------------------------------------------------------------------------------
# "Framing" and "APIs": one connection, one request at a time.
# --------------------------------------------------------------------------------------------

def _pack(payload):
    # use_bin_type: Python bytes travel as msgpack bin (records), str as msgpack str.
    return msgpack.packb(payload, use_bin_type=True)


class Connection:
    """One TCP connection to a broker. Requests are sent one at a time (no pipelining needed
    here); every socket operation has a timeout, so nothing waits forever."""

    def __init__(self, host, port, client_id="conformance-py", timeout_s=15.0):
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.sock.settimeout(timeout_s)
        self.correlation_id = 0
        self.client_id = client_id

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv_exact(self, n):
        chunks, got = [], 0
        while got < n:  # bounded: each recv returns >= 1 byte or we raise
            chunk = self.sock.recv(min(n - got, 1 << 20))
            if not chunk:
                raise ProtocolError("the broker closed the connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read_frame(self):
        (size,) = FRAME_SIZE.unpack(self._recv_exact(4))
        if size < RESPONSE_HEADER.size or size > MAX_RESPONSE_BYTES:
            raise ProtocolError(f"response frame size {size} out of bounds")
        return self._recv_exact(size)

    def send_raw(self, api_key, payload_bytes, api_version=0):
        """Sends payload_bytes verbatim as a request's payload and returns the decoded response
        payload. Used for well-formed requests (via request) and deliberately malformed ones."""
        self.correlation_id = (self.correlation_id + 1) & 0xFFFFFFFF
        body = REQUEST_HEADER.pack(api_key, api_version, self.correlation_id) + payload_bytes
        self.sock.sendall(FRAME_SIZE.pack(len(body)) + body)
        frame = self._read_frame()
        (cid,) = RESPONSE_HEADER.unpack_from(frame)
        if cid != self.correlation_id:
            raise ProtocolError(f"correlationId {cid}, expected {self.correlation_id}")
        # strict_map_key=False: nothing in the spec promises string keys everywhere.
        return msgpack.unpackb(frame[RESPONSE_HEADER.size:], raw=False, strict_map_key=False)

    def send_no_response(self, api_key, payload):
        """A request the broker does not answer (Produce with acks 0)."""
        self.correlation_id = (self.correlation_id + 1) & 0xFFFFFFFF
        body = REQUEST_HEADER.pack(api_key, 0, self.correlation_id) + _pack(payload)
        self.sock.sendall(FRAME_SIZE.pack(len(body)) + body)

    def request(self, api_key, payload, api_version=0):
        return self.send_raw(api_key, _pack(payload), api_version)

    # --- "ApiVersions (key 18)" ---
    def api_versions(self):
        return self.request(API_API_VERSIONS, {
            "clientId": self.client_id,
            "clientSoftwareName": "rill-conformance-py",
            "clientSoftwareVersion": "0.1.0",
        })

    # --- "Metadata (key 3)" ---
    def metadata(self, topics, allow_auto_topic_creation=False):
        return self.request(API_METADATA, {"topics": topics, "allowAutoTopicCreation": allow_auto_topic_creation})

    def partition_count(self, topic):
        meta = self.metadata([topic])
        for t in meta["topics"]:
            if t["name"] == topic and t["errorCode"] == NONE:
                return len(t["partitions"])
        raise ProtocolError(f"Metadata does not know topic {topic!r}: {meta}")

    # --- "CreateTopics (key 19)" ---
    def create_topics(self, topics, timeout_ms=10_000, validate_only=False):
        """topics: list of dicts {name, numPartitions, replicationFactor, configs}."""
        return self.request(API_CREATE_TOPICS, {"topics": topics, "timeoutMs": timeout_ms, "validateOnly": validate_only})

    def create_topic(self, name, partitions, configs=None):
        resp = self.create_topics([{"name": name, "numPartitions": partitions, "replicationFactor": -1,
                                    "configs": configs or {}}])
        result = resp["topics"][0]
        if result["errorCode"] != NONE:
            raise ProtocolError(f"CreateTopics {name}: {result}")
        return result

    # --- "Produce (key 0)" ---
    def produce(self, topic, partition_records, acks=-1, timeout_ms=10_000):
        """partition_records: {partition: batch bytes}. Returns {partition: partition result}."""
        resp = self.request(API_PRODUCE, {
            "acks": acks,
            "timeoutMs": timeout_ms,
            "topics": [{"name": topic, "partitions": [
                {"partition": p, "records": records} for p, records in partition_records.items()]}],
        })
        return {p["partition"]: p for t in resp["topics"] for p in t["partitions"]}

    # --- "Fetch (key 1)" ---
    def fetch(self, topic, partition, fetch_offset, max_wait_ms=100, max_bytes=1 << 20):
        """One partition's fetch result (the response's partition entry)."""
        resp = self.request(API_FETCH, {
            "maxWaitMs": max_wait_ms, "minBytes": 1, "maxBytes": max_bytes,
            "topics": [{"name": topic, "partitions": [
                {"partition": partition, "fetchOffset": fetch_offset, "partitionMaxBytes": max_bytes}]}],
        })
        if resp.get("errorCode", NONE) != NONE:
            raise ProtocolError(f"Fetch failed: {resp}")
        return resp["topics"][0]["partitions"][0]

    def fetch_all(self, topic, partition, max_requests=50):
        """Every record of a partition from offset 0 up to its high watermark (bounded)."""
        records, offset = [], 0
        for _ in range(max_requests):
            part = self.fetch(topic, partition, offset)
            if part["errorCode"] != NONE:
                raise ProtocolError(f"Fetch {topic}/{partition}: {part}")
            batches = decode_batches(part["records"] or b"")
            for header, recs in batches:
                records.extend(r for r in recs if r["offset"] >= offset)
                offset = header["baseOffset"] + header["lastOffsetDelta"] + 1
            if offset >= part["highWatermark"]:
                return records
            if not batches:
                raise ProtocolError(f"Fetch returned no whole batch below the high watermark at {offset}")
        raise ProtocolError(f"{topic}/{partition} not read to its end in {max_requests} fetches")

    # --- "ListOffsets (key 2)" ---
    def list_offsets(self, topic, partition, timestamp):
        resp = self.request(API_LIST_OFFSETS, {"topics": [{"name": topic, "partitions": [
            {"partition": partition, "timestamp": timestamp}]}]})
        return resp["topics"][0]["partitions"][0]

    # --- "InitProducerId (key 22)" ---
    def init_producer_id(self, producer_id=-1, producer_epoch=-1):
        return self.request(API_INIT_PRODUCER_ID, {
            "transactionalId": None, "transactionTimeoutMs": 60_000,
            "producerId": producer_id, "producerEpoch": producer_epoch,
        })

    # --- "OffsetCommit (key 8)": a simple commit (memberId '', memberEpoch -1) ---
    def offset_commit(self, group_id, topic, offsets, metadata=""):
        """offsets: {partition: offset}. Returns {partition: errorCode}."""
        resp = self.request(API_OFFSET_COMMIT, {
            "groupId": group_id, "memberId": "", "memberEpoch": -1,
            "topics": [{"name": topic, "partitions": [
                {"partition": p, "committedOffset": o, "committedMetadata": metadata} for p, o in offsets.items()]}],
        })
        return {p["partition"]: p["errorCode"] for t in resp["topics"] for p in t["partitions"]}

    # --- "OffsetFetch (key 9)" ---
    def offset_fetch(self, group_id, topic, partitions):
        resp = self.request(API_OFFSET_FETCH, {"groupId": group_id, "topics": [{"name": topic, "partitions": partitions}]})
        if resp.get("errorCode", NONE) != NONE:
            raise ProtocolError(f"OffsetFetch failed: {resp}")
        return {p["partition"]: p for t in resp["topics"] for p in t["partitions"]}
