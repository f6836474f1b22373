#!/usr/bin/env python
"""Lab resolver of the test bed: static A records, NXDOMAIN for the rest, every query recorded.

Standard library only (python3.9+), so it runs in the test containers and on the host.

Serve (the default command; ``serve`` may be omitted)::

    labdns.py [serve] --listen ADDR:PORT [--listen ADDR:PORT ...]
                      [--record NAME=IPV4 ...] [--log FILE] [--ttl SECONDS] [--no-tcp] [--raw]

- ``--listen`` (repeatable): UDP, and TCP on the same port unless ``--no-tcp``. Port 0 picks a
  free port (TCP then uses the port UDP got); the ports really bound are in the start line.
- ``--record NAME=IPV4`` (repeatable; several records for one name give several addresses).
  Names are matched case-insensitively, a trailing dot is ignored.
- Answers: A for a recorded name -> its addresses; any other type for a recorded name ->
  NOERROR without answers; every other name -> NXDOMAIN. Nothing is forwarded anywhere.
  Opcodes other than QUERY get NOTIMP, unparsable questions FORMERR.
- ``--log FILE`` (default: standard output) gets one JSON object per line, appended:
  first ``{"event": "start", "time", "listen": ["udp 127.0.0.1:5353", ...], "records": {...}}``,
  written once every socket is bound (wait for it before sending queries), then per query
  ``{"time", "proto", "client", "port", "id", "qname", "qtype", "rcode", "answer": [...]}``
  (``qname`` as received, without the final dot; ``"raw"``: the query in hex with ``--raw``).
- SIGTERM or SIGINT stop it (exit 0).

Check a log (the "nothing calls home" DNS check)::

    labdns.py check LOG [--expect QNAME ...] [--allow NAME|*.DOMAIN ...] [--json]

An allow-list: every query must be for one of the lab's own names -- a name the resolver
has a record for (the start line's ``records``: the scenario's names and the package
mirror's) or a service name under it (``_http._tcp.<mirror>``), a name under ``lab.test``,
the reverse name of a lab address (198.18.0.0/15), or an ``--allow`` name (``*.DOMAIN``:
DOMAIN and every name under it); case-insensitive, trailing dot tolerated. Any other query (an update server,
a registry, an ACME CA, tailscale.com ...) is foreign. Exit 0: no foreign query, and every
``--expect`` name was asked at least once. Exit 1: the foreign queries (and missing names)
on stdout, one per line (``--json``: one JSON document). Exit 2: the log cannot be read.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

# Names the lab owns whatever the scenario: its domain (scenario records, probe names) and the
# reverse names of its address range 198.18.0.0/15 (PTR lookups of lab addresses).
LAB_PATTERNS = ("*.lab.test", "*.18.198.in-addr.arpa", "*.19.198.in-addr.arpa")

QTYPES = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    12: "PTR",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    33: "SRV",
    41: "OPT",
    64: "SVCB",
    65: "HTTPS",
    255: "ANY",
}
TYPE_A = 1
CLASS_IN = 1
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
NOERROR, FORMERR, NXDOMAIN, NOTIMP = 0, 1, 3, 4
FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_TC = 0x0200
FLAG_RD = 0x0100
FLAG_RA = 0x0080
UDP_LIMIT = 512
HEADER = struct.Struct("!HHHHHH")


class FormatError(ValueError):
    """The message is not a DNS query we can parse."""


# ---------------------------------------------------------------- pure functions


def normalize(name: str) -> str:
    """Lower case, without the final dot: the form names are compared in."""
    return name.strip().rstrip(".").lower()


def qtype_name(qtype: int) -> str:
    return QTYPES.get(qtype, f"TYPE{qtype}")


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """The domain name at offset (compression pointers followed) and the offset after it."""
    labels: list[str] = []
    end = None
    jumps = 0
    while True:
        if offset >= len(data):
            raise FormatError("name runs past the end of the message")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise FormatError("truncated compression pointer")
            if end is None:
                end = offset + 2
            jumps += 1
            if jumps > 64:
                raise FormatError("compression pointer loop")
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length & 0xC0:
            raise FormatError(f"unsupported label type 0x{length:02x}")
        offset += 1
        if length == 0:
            break
        if offset + length > len(data):
            raise FormatError("label runs past the end of the message")
        labels.append(data[offset : offset + length].decode("ascii", errors="backslashreplace"))
        offset += length
    name = ".".join(labels)
    if len(name) > 253:
        raise FormatError("name longer than 253 characters")
    return name, (end if end is not None else offset)


def encode_name(name: str) -> bytes:
    out = b""
    for label in normalize(name).split("."):
        if not label:
            continue
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise ValueError(f"label {label!r} longer than 63 bytes")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def parse_query(data: bytes) -> dict:
    """Header and first question of a DNS message.

    Returns id, flags, opcode, rd, qdcount, qname, qtype, qclass and ``question``: the raw
    bytes of the question section, echoed back unchanged (case preserved for 0x20 clients).
    Raises FormatError when the header or the question cannot be read.
    """
    if len(data) < HEADER.size:
        raise FormatError(f"message of {len(data)} bytes is shorter than a DNS header")
    ident, flags, qdcount, _ancount, _nscount, _arcount = HEADER.unpack_from(data)
    query = {
        "id": ident,
        "flags": flags,
        "opcode": (flags >> 11) & 0xF,
        "rd": bool(flags & FLAG_RD),
        "qdcount": qdcount,
        "qname": None,
        "qtype": None,
        "qclass": None,
        "question": b"",
    }
    if flags & FLAG_QR:
        raise FormatError("message is a response, not a query")
    if qdcount != 1:
        raise FormatError(f"{qdcount} questions (expected 1)")
    qname, offset = read_name(data, HEADER.size)
    if offset + 4 > len(data):
        raise FormatError("question ends before its type and class")
    qtype, qclass = struct.unpack_from("!HH", data, offset)
    query.update(qname=qname, qtype=qtype, qclass=qclass, question=data[HEADER.size : offset + 4])
    return query


def lookup(records: dict[str, list[str]], qname: str, qtype: int) -> tuple[int, list[str]]:
    """(rcode, addresses) for a question: A of a recorded name, NODATA, or NXDOMAIN."""
    addresses = records.get(normalize(qname))
    if addresses is None:
        return NXDOMAIN, []
    if qtype == TYPE_A:
        return NOERROR, list(addresses)
    return NOERROR, []


def build_response(query: dict, rcode: int, addresses: list[str], ttl: int = 30) -> bytes:
    """A response to a parsed query: the question echoed, one A record per address."""
    flags = FLAG_QR | (query["opcode"] << 11) | FLAG_AA | FLAG_RA | (query["flags"] & FLAG_RD) | rcode
    answers = b""
    for address in addresses:
        rdata = ipaddress.IPv4Address(address).packed
        # 0xC00C: the name of the question right after the 12-byte header
        answers += struct.pack("!HHHIH", 0xC00C, TYPE_A, CLASS_IN, ttl, len(rdata)) + rdata
    qdcount = 1 if query["question"] else 0
    return HEADER.pack(query["id"], flags, qdcount, len(addresses), 0, 0) + query["question"] + answers


def error_response(data: bytes, rcode: int) -> bytes | None:
    """A header-only answer (FORMERR, NOTIMP) to a message whose header is readable."""
    if len(data) < HEADER.size:
        return None
    ident, flags = struct.unpack_from("!HH", data)
    if flags & FLAG_QR:
        return None  # never answer a response
    flags = FLAG_QR | (flags & 0x7800) | (flags & FLAG_RD) | FLAG_RA | rcode
    return HEADER.pack(ident, flags, 0, 0, 0, 0)


def truncate_for_udp(response: bytes, limit: int = UDP_LIMIT) -> bytes:
    """Header and question only, with TC set, when a response does not fit in UDP."""
    if len(response) <= limit:
        return response
    ident, flags, qdcount = struct.unpack_from("!HHH", response)
    _name, offset = read_name(response, HEADER.size)
    question = response[HEADER.size : offset + 4] if qdcount else b""
    return HEADER.pack(ident, flags | FLAG_TC, qdcount, 0, 0, 0) + question


def answer(data: bytes, records: dict[str, list[str]], ttl: int = 30) -> tuple[bytes | None, dict]:
    """The response to one message and what to record about it."""
    entry: dict = {"id": None, "qname": None, "qtype": None, "rcode": None, "answer": []}
    try:
        query = parse_query(data)
    except FormatError as exc:
        response = error_response(data, FORMERR)
        if len(data) >= 2:
            entry["id"] = struct.unpack_from("!H", data)[0]
        entry.update(rcode=RCODES[FORMERR] if response else None, error=str(exc))
        return response, entry
    entry.update(id=query["id"], qname=query["qname"], qtype=qtype_name(query["qtype"]))
    if query["opcode"] != 0:
        entry["rcode"] = RCODES[NOTIMP]
        return error_response(data, NOTIMP), entry
    if query["qclass"] != CLASS_IN:
        rcode, addresses = NXDOMAIN, []
    else:
        rcode, addresses = lookup(records, query["qname"], query["qtype"])
    entry.update(rcode=RCODES[rcode], answer=addresses)
    return build_response(query, rcode, addresses, ttl), entry


def parse_records(items: list[str]) -> dict[str, list[str]]:
    """{name: [addresses]} from NAME=IPV4 arguments."""
    records: dict[str, list[str]] = {}
    for item in items:
        name, sep, address = item.partition("=")
        if not sep or not normalize(name):
            raise ValueError(f"record {item!r} is not NAME=IPV4")
        try:
            address = str(ipaddress.IPv4Address(address.strip()))
        except ValueError:
            raise ValueError(f"record {item!r}: {address!r} is not an IPv4 address") from None
        encode_name(name)  # label lengths
        addresses = records.setdefault(normalize(name), [])
        if address not in addresses:
            addresses.append(address)
    return records


def parse_listen(text: str) -> tuple[str, int]:
    """('198.18.20.53', 53) from '198.18.20.53:53' (IPv6: '[::1]:53')."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"listen address {text!r} is not ADDR:PORT")
    host = host.strip("[]")
    ipaddress.ip_address(host)
    return host, int(port)


def is_lab_name(qname: str | None, records: dict | None = None, allow: tuple[str, ...] | list[str] = ()) -> bool:
    """True for a name the lab owns: recorded, under lab.test, or allowed (``*.DOMAIN``: the
    domain and every name under it)."""
    if not qname:
        return False
    name = normalize(qname)
    # A service lookup of a recorded name (apt on Debian 13 asks _http._tcp.<mirror> first).
    owner = re.sub(r"^(_[^.]+\.)+", "", name)
    if owner in {normalize(n) for n in (records or {})}:
        return True
    for pattern in (*LAB_PATTERNS, *allow):
        wanted = normalize(pattern)
        if wanted.startswith("*."):
            domain = wanted[2:]
            if name == domain or name.endswith("." + domain):
                return True
        elif name == wanted:
            return True
    return False


def _log_lines(text: str) -> list[dict]:
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number} is not JSON: {exc}") from None
        if isinstance(entry, dict):
            lines.append(entry)
    return lines


def read_log(text: str) -> list[dict]:
    """The query entries of a log (start lines and blank lines skipped)."""
    return [entry for entry in _log_lines(text) if "qname" in entry]


def read_records(text: str) -> dict[str, list[str]]:
    """The records of the log's start lines (the names the resolver answered)."""
    records: dict[str, list[str]] = {}
    for entry in _log_lines(text):
        if entry.get("event") == "start":
            records.update(entry.get("records") or {})
    return records


def check_entries(entries: list[dict], expect: list[str] = (), records: dict | None = None,
                  allow: tuple[str, ...] | list[str] = ()) -> dict:
    """Foreign queries (not for a lab name), and the expected names nobody asked for."""
    asked = {normalize(e["qname"]) for e in entries if e.get("qname")}
    return {
        "queries": len(entries),
        "foreign": [e for e in entries if not is_lab_name(e.get("qname"), records, allow)],
        "missing": [name for name in expect if normalize(name) not in asked],
    }


def describe(entry: dict) -> str:
    return (
        f"{entry.get('time', '?')} {entry.get('client', '?')} asked {entry.get('qtype')} "
        f"{entry.get('qname')} -> {entry.get('rcode')} {entry.get('answer') or ''}".rstrip()
    )


# ---------------------------------------------------------------- server


def now() -> str:
    stamp = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1000):03d}Z"


class Recorder:
    """Appends JSON lines to the log, one writer at a time."""

    def __init__(self, path: str | None):
        self.lock = threading.Lock()
        # Line-buffered: every query is on disk as soon as it is answered.
        self.handle = open(path, "a", encoding="utf-8", buffering=1) if path and path != "-" else sys.stdout

    def write(self, entry: dict) -> None:
        line = json.dumps(entry, sort_keys=False)
        with self.lock:
            self.handle.write(line + "\n")
            self.handle.flush()


class Lab:
    def __init__(self, records: dict[str, list[str]], recorder: Recorder, ttl: int, raw: bool):
        self.records = records
        self.recorder = recorder
        self.ttl = ttl
        self.raw = raw

    def handle(self, data: bytes, proto: str, client: tuple) -> bytes | None:
        response, entry = answer(data, self.records, self.ttl)
        record = {"time": now(), "proto": proto, "client": client[0], "port": client[1], **entry}
        if self.raw:
            record["raw"] = data.hex()
        self.recorder.write(record)
        return response


class UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        response = self.server.lab.handle(data, "udp", self.client_address)
        if response is not None:
            sock.sendto(truncate_for_udp(response), self.client_address)


class TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.settimeout(10)
        while True:
            size = self._read(2)
            if size is None:
                return
            data = self._read(struct.unpack("!H", size)[0])
            if data is None:
                return
            response = self.server.lab.handle(data, "tcp", self.client_address)
            if response is None:
                return
            self.request.sendall(struct.pack("!H", len(response)) + response)

    def _read(self, count: int) -> bytes | None:
        data = b""
        while len(data) < count:
            try:
                chunk = self.request.recv(count - len(data))
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data


def _server_class(base, family):
    return type(
        f"Lab{base.__name__}",
        (socketserver.ThreadingMixIn, base),
        {
            "address_family": family,
            "allow_reuse_address": True,
            "daemon_threads": True,
        },
    )


def bind_pair(host: str, port: int, lab: Lab, tcp: bool) -> list:
    """UDP and (optionally) TCP servers on one port; port 0: a port free for both."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _attempt in range(20):
        udp = _server_class(socketserver.UDPServer, family)((host, port), UDPHandler)
        udp.lab = lab
        if not tcp:
            return [udp]
        try:
            stream = _server_class(socketserver.TCPServer, family)((host, udp.server_address[1]), TCPHandler)
        except OSError:
            udp.server_close()
            if port:
                raise
            continue
        stream.lab = lab
        return [udp, stream]
    raise OSError(f"no port free for both UDP and TCP on {host}")


def start_servers(listens: list[tuple[str, int]], lab: Lab, tcp: bool) -> tuple[list, list[str]]:
    servers, bound = [], []
    for host, port in listens:
        for server in bind_pair(host, port, lab, tcp):
            servers.append(server)
            proto = "tcp" if server.socket_type == socket.SOCK_STREAM else "udp"
            shown = f"[{host}]" if ":" in host else host
            bound.append(f"{proto} {shown}:{server.server_address[1]}")
    return servers, bound


def serve(args) -> int:
    try:
        records = parse_records(args.record)
        listens = [parse_listen(item) for item in args.listen]
    except ValueError as exc:
        print(f"labdns.py: {exc}", file=sys.stderr)
        return 2
    recorder = Recorder(args.log)
    lab = Lab(records, recorder, args.ttl, args.raw)
    try:
        servers, bound = start_servers(listens, lab, not args.no_tcp)
    except OSError as exc:
        print(f"labdns.py: cannot listen: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    recorder.write({"event": "start", "time": now(), "listen": bound, "records": records})
    print(f"labdns.py: listening on {', '.join(bound)}", file=sys.stderr, flush=True)
    while not stop.wait(1):
        pass
    for server in servers:
        server.shutdown()
        server.server_close()
    return 0


def check(args) -> int:
    try:
        with open(args.log, encoding="utf-8") as handle:
            text = handle.read()
        entries, records = read_log(text), read_records(text)
    except (OSError, ValueError) as exc:
        print(f"labdns.py: cannot read {args.log}: {exc}", file=sys.stderr)
        return 2
    result = check_entries(entries, args.expect, records, args.allow)
    failed = bool(result["foreign"] or result["missing"])
    if args.json:
        foreign_names = sorted({normalize(e["qname"]) for e in result["foreign"]})
        print(json.dumps({"log": args.log, "ok": not failed, "foreign_names": foreign_names, **result}, indent=1))
    else:
        for entry in result["foreign"]:
            print(f"{args.log}: foreign query: {describe(entry)}")
        for name in result["missing"]:
            print(f"{args.log}: expected query not recorded: {name}")
        print(
            f"labdns.py: {result['queries']} queries, {len(result['foreign'])} foreign, "
            f"{len(result['missing'])} expected names missing",
            file=sys.stderr,
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("serve", "check", "-h", "--help"):
        argv.insert(0, "serve")
    parser = argparse.ArgumentParser(prog="labdns.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="answer and record queries (the default command)")
    p_serve.add_argument("--listen", action="append", required=True, metavar="ADDR:PORT")
    p_serve.add_argument("--record", action="append", default=[], metavar="NAME=IPV4")
    p_serve.add_argument("--log", default="-", metavar="FILE")
    p_serve.add_argument("--ttl", type=int, default=30)
    p_serve.add_argument("--no-tcp", action="store_true")
    p_serve.add_argument("--raw", action="store_true", help="record each query's bytes in hex")
    p_check = sub.add_parser("check", help="fail on queries for names that are not the lab's")
    p_check.add_argument("log")
    p_check.add_argument("--expect", action="append", default=[], metavar="QNAME")
    p_check.add_argument("--allow", action="append", default=[], metavar="NAME|*.DOMAIN")
    p_check.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    return serve(args) if args.command == "serve" else check(args)


if __name__ == "__main__":
    sys.exit(main())
