"""Unit tests of testbed/labdns.py, the lab resolver that records every DNS query.

Inputs are real queries: recordings/labdns/glibc-queries.jsonl is the resolver's own ``--raw``
log of glibc (getent, UDP and TCP) and Python's getaddrinfo asking it, written by
recordings/labdns/record.sh in a private network namespace; glibc-answers.txt shows those
clients accepted the answers. docker-embedded-queries.jsonl holds the queries of a molecule
smoke run (containers -> Docker's embedded DNS -> labdns-smoke; start line left out).
The last tests run the server for real on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "testbed" / "labdns.py"
RECORDINGS = Path(__file__).resolve().parent / "recordings" / "labdns"

_spec = importlib.util.spec_from_file_location("testbed_labdns", SCRIPT)
labdns = importlib.util.module_from_spec(_spec)
sys.modules["testbed_labdns"] = labdns
_spec.loader.exec_module(labdns)


def recorded_log() -> list[dict]:
    text = (RECORDINGS / "glibc-queries.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


START = recorded_log()[0]
QUERIES = recorded_log()[1:]
DOCKER_QUERIES = [
    json.loads(line)
    for line in (RECORDINGS / "docker-embedded-queries.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def decode_response(data: bytes) -> dict:
    """Header, question and A records of a response (what a client reads)."""
    ident, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHHH", data)
    offset = 12
    question = None
    if qdcount:
        qname, offset = labdns.read_name(data, offset)
        question = (qname, *struct.unpack_from("!HH", data, offset))
        offset += 4
    answers = []
    for _index in range(ancount):
        name, offset = labdns.read_name(data, offset)
        rtype, rclass, ttl, rdlength = struct.unpack_from("!HHIH", data, offset)
        offset += 10
        answers.append((name, rtype, rclass, ttl, socket.inet_ntoa(data[offset : offset + rdlength])))
        offset += rdlength
    assert offset == len(data), "trailing bytes after the answer section"
    return {
        "id": ident,
        "qr": bool(flags & 0x8000),
        "opcode": (flags >> 11) & 0xF,
        "aa": bool(flags & 0x0400),
        "tc": bool(flags & 0x0200),
        "rd": bool(flags & 0x0100),
        "rcode": flags & 0xF,
        "counts": (qdcount, ancount, nscount, arcount),
        "question": question,
        "answers": answers,
    }


def test_recording_covers_the_cases():
    kinds = {(q["proto"], q["qtype"], q["rcode"]) for q in QUERIES}
    assert ("udp", "A", "NOERROR") in kinds
    assert ("udp", "AAAA", "NOERROR") in kinds  # NODATA for a recorded name
    assert ("udp", "A", "NXDOMAIN") in kinds
    assert ("udp", "PTR", "NXDOMAIN") in kinds
    assert ("tcp", "A", "NOERROR") in kinds
    assert any(q["qname"] != q["qname"].lower() for q in QUERIES)  # mixed case as asked
    assert START["records"] == {"lab-host.test": ["198.18.20.10", "198.18.20.11"], "mirror.lab.test": ["198.18.20.80"]}


@pytest.mark.parametrize("entry", QUERIES + DOCKER_QUERIES, ids=lambda e: f"{e['proto']}-{e['qtype']}-{e['qname']}")
def test_parse_recorded_queries(entry):
    query = labdns.parse_query(bytes.fromhex(entry["raw"]))
    assert query["id"] == entry["id"]
    assert query["qname"] == entry["qname"]
    assert labdns.qtype_name(query["qtype"]) == entry["qtype"]
    assert query["qclass"] == 1
    assert query["opcode"] == 0
    assert query["rd"] is True  # glibc asks for recursion


@pytest.mark.parametrize("entry", QUERIES + DOCKER_QUERIES, ids=lambda e: f"{e['proto']}-{e['qtype']}-{e['qname']}")
def test_answer_recorded_queries(entry):
    raw = bytes.fromhex(entry["raw"])
    response, logged = labdns.answer(raw, START["records"], ttl=30)
    assert {k: logged[k] for k in ("id", "qname", "qtype", "rcode", "answer")} == {
        k: entry[k] for k in ("id", "qname", "qtype", "rcode", "answer")
    }
    decoded = decode_response(response)
    assert decoded["id"] == entry["id"]
    assert decoded["qr"] and decoded["aa"] and decoded["rd"] and not decoded["tc"]
    assert labdns.RCODES[decoded["rcode"]] == entry["rcode"]
    # the question is echoed byte for byte (case kept, as 0x20-randomising clients require)
    assert response[12 : 12 + len(raw) - 12] == raw[12:]
    assert decoded["question"][0] == entry["qname"]
    assert [a[4] for a in decoded["answers"]] == entry["answer"]
    assert all(a[0] == entry["qname"] and a[1:4] == (1, 1, 30) for a in decoded["answers"])


def test_lookup_rules():
    records = labdns.parse_records(
        ["Lab-Host.test.=198.18.20.10", "lab-host.test=198.18.20.11", "lab-host.test=198.18.20.10"]
    )
    assert records == {"lab-host.test": ["198.18.20.10", "198.18.20.11"]}
    assert labdns.lookup(records, "LAB-HOST.TEST.", 1) == (0, ["198.18.20.10", "198.18.20.11"])
    assert labdns.lookup(records, "lab-host.test", 28) == (0, [])
    assert labdns.lookup(records, "other.test", 1) == (3, [])
    assert labdns.lookup(records, "sub.lab-host.test", 1) == (3, [])


@pytest.mark.parametrize(
    "bad", ["lab-host.test", "=198.18.20.1", "x.test=198.18.20", "x.test=fd00::1", "x" * 64 + ".test=198.18.20.1"]
)
def test_parse_records_refuses(bad):
    with pytest.raises(ValueError, match=r"record|label"):
        labdns.parse_records([bad])


def test_parse_listen():
    assert labdns.parse_listen("198.18.20.53:53") == ("198.18.20.53", 53)
    assert labdns.parse_listen("[::1]:5353") == ("::1", 5353)
    for bad in ("198.18.20.53", "198.18.20.53:99999", "name:53"):
        with pytest.raises(ValueError):
            labdns.parse_listen(bad)


def test_malformed_and_other_messages():
    raw = bytes.fromhex(QUERIES[0]["raw"])
    # truncated question: FORMERR with the query's id, recorded with the reason
    response, logged = labdns.answer(raw[:-3], START["records"])
    decoded = decode_response(response)
    assert (decoded["id"], decoded["rcode"], decoded["counts"]) == (QUERIES[0]["id"], 1, (0, 0, 0, 0))
    assert logged["rcode"] == "FORMERR" and "question" in logged["error"]
    # a response is never answered
    response, _logged = labdns.answer(bytes([raw[0], raw[1], raw[2] | 0x80]) + raw[3:], START["records"])
    assert response is None
    # shorter than a header: nothing to answer to
    assert labdns.answer(raw[:5], START["records"])[0] is None
    # opcode STATUS (2): NOTIMP
    response, logged = labdns.answer(bytes([raw[0], raw[1], raw[2] | (2 << 3)]) + raw[3:], START["records"])
    assert decode_response(response)["rcode"] == 4 and decode_response(response)["opcode"] == 2
    assert logged["rcode"] == "NOTIMP"


def test_read_name_follows_pointers_and_refuses_loops():
    raw = bytes.fromhex(QUERIES[0]["raw"])
    response, _logged = labdns.answer(raw, START["records"])
    answer_offset = len(raw)  # first answer record right after the echoed question
    assert response[answer_offset : answer_offset + 2] == b"\xc0\x0c"
    assert labdns.read_name(response, answer_offset) == (QUERIES[0]["qname"], answer_offset + 2)
    with pytest.raises(labdns.FormatError, match="loop"):
        labdns.read_name(raw[:12] + b"\xc0\x0c", 12)
    with pytest.raises(labdns.FormatError):
        labdns.read_name(raw[:12] + b"\x05ab", 12)


def test_udp_truncation():
    raw = bytes.fromhex(QUERIES[0]["raw"])
    many = {"lab-host.test": [f"198.18.21.{i}" for i in range(1, 60)]}
    response, _logged = labdns.answer(raw, many)
    assert len(response) > 512
    decoded = decode_response(labdns.truncate_for_udp(response))
    assert decoded["tc"] and decoded["answers"] == [] and decoded["question"][0] == "lab-host.test"
    assert labdns.truncate_for_udp(labdns.answer(raw, START["records"])[0]) == labdns.answer(raw, START["records"])[0]


RECORDS = START["records"]


@pytest.mark.parametrize(
    ("qname", "lab"),
    [
        ("lab-host.test", True),  # a record
        ("Mirror.LAB.test.", True),  # a record, other case, final dot
        ("hs.lab.test", True),  # under lab.test
        ("lab.test", True),
        ("_http._tcp.mirror.lab.test", True),  # SRV of a record (apt 3 on Debian 13)
        ("_http._tcp.lab-host.test", True),
        ("_http._tcp.deb.debian.org", False),  # not a record here
        ("x._tcp.lab-host.test", False),
        ("10.20.18.198.in-addr.arpa", True),  # PTR of a lab address
        ("1.0.19.198.in-addr.arpa", True),
        ("1.0.20.198.in-addr.arpa", False),  # 198.20.0.1 is not the lab's
        ("controlplane.tailscale.com", False),
        ("LOG.TAILSCALE.IO.", False),
        ("api.github.com", False),
        ("ghcr.io", False),
        ("registry-1.docker.io", False),
        ("acme-v02.api.letsencrypt.org", False),
        ("deb.debian.org", False),  # the mirror only counts when it is a record
        ("lab.test.evil.example", False),
        ("notlab.test", False),
        ("lab-host.test.example", False),
        ("", False),
        (None, False),
    ],
)
def test_is_lab_name(qname, lab):
    assert labdns.is_lab_name(qname, RECORDS) is lab


def test_allow_patterns():
    assert labdns.is_lab_name("deb.debian.org", RECORDS, ["deb.debian.org"])
    assert not labdns.is_lab_name("security.debian.org", RECORDS, ["deb.debian.org"])
    assert labdns.is_lab_name("security.debian.org", RECORDS, ["*.debian.org"])
    assert labdns.is_lab_name("debian.org", RECORDS, ["*.debian.org"])
    assert not labdns.is_lab_name("debian.org.evil.example", RECORDS, ["*.debian.org"])
    assert not labdns.is_lab_name("lab-host.test", {}, [])  # a record only counts when recorded


def test_docker_recording_is_the_smoke_run():
    assert [(e["client"], e["qname"], e["rcode"]) for e in DOCKER_QUERIES] == [
        ("198.18.10.13", "smoke-debian13.probe.lab.test", "NXDOMAIN"),
        ("198.18.10.12", "smoke-debian12.probe.lab.test", "NXDOMAIN"),
        ("198.18.10.12", "controlplane.tailscale.com", "NXDOMAIN"),
    ]
    result = labdns.check_entries(DOCKER_QUERIES, ["smoke-debian12.probe.lab.test", "smoke-debian13.probe.lab.test"])
    assert [e["qname"] for e in result["foreign"]] == ["controlplane.tailscale.com"] and result["missing"] == []


def test_check_entries_on_the_recording():
    text = (RECORDINGS / "glibc-queries.jsonl").read_text(encoding="utf-8")
    entries = labdns.read_log(text)
    assert len(entries) == len(QUERIES)  # the start line is not a query
    assert labdns.read_records(text) == RECORDS
    result = labdns.check_entries(entries, ["lab-host.test.", "MIRROR.lab.test", "never.asked.test"], RECORDS)
    assert [e["qname"] for e in result["foreign"]] == [
        "controlplane.tailscale.com",
        "LOG.TAILSCALE.IO",
        "LOG.TAILSCALE.IO",
        "api.github.com",
    ]
    assert result["missing"] == ["never.asked.test"]
    # Without the start line's records, the recorded name is foreign too.
    assert "lab-host.test" in [e["qname"] for e in labdns.check_entries(entries)["foreign"]]
    clean = [e for e in entries if labdns.is_lab_name(e["qname"], RECORDS)]
    expected = {"queries": len(clean), "foreign": [], "missing": []}
    assert labdns.check_entries(clean, ["lab-host.test"], RECORDS) == expected


def test_read_log_refuses_garbage():
    with pytest.raises(ValueError, match="line 2"):
        labdns.read_log('{"event": "start"}\nnot json\n')


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False, timeout=30)


def test_check_cli(tmp_path):
    log = RECORDINGS / "glibc-queries.jsonl"
    result = run_cli("check", str(log))
    assert result.returncode == 1
    assert result.stdout.count("foreign query:") == 4
    assert "asked A controlplane.tailscale.com -> NXDOMAIN" in result.stdout
    assert "4 foreign" in result.stderr
    result = run_cli("check", str(log), "--json", "--expect", "absent.test")
    document = json.loads(result.stdout)
    assert result.returncode == 1 and document["ok"] is False and document["missing"] == ["absent.test"]
    clean = tmp_path / "clean.jsonl"
    clean.write_text(
        "".join(json.dumps(e) + "\n" for e in [START] + [q for q in QUERIES if labdns.is_lab_name(q["qname"], RECORDS)])
    )
    result = run_cli("check", str(clean), "--expect", "mirror.lab.test")
    assert (result.returncode, result.stdout) == (0, "")
    assert run_cli("check", str(tmp_path / "absent.jsonl")).returncode == 2


def test_check_cli_fails_on_any_name_that_is_not_the_labs(tmp_path):
    """Not only tailscale/github: a registry, an ACME CA, an update server are foreign too."""
    query = next(q for q in QUERIES if q["qname"] == "lab-host.test")
    names = ["registry-1.docker.io", "acme-v02.api.letsencrypt.org", "lab-host.test", "hs.lab.test"]
    log = tmp_path / "queries.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in [START] + [dict(query, qname=n) for n in names]))
    result = run_cli("check", str(log), "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 1
    assert document["foreign_names"] == ["acme-v02.api.letsencrypt.org", "registry-1.docker.io"]
    allowed = run_cli("check", str(log), "--allow", "registry-1.docker.io", "--allow", "*.letsencrypt.org")
    assert (allowed.returncode, allowed.stdout) == (0, "")


@pytest.fixture
def server(tmp_path):
    """The real server on a free loopback port, with the recording's records."""
    log = tmp_path / "queries.jsonl"
    argv = [sys.executable, str(SCRIPT), "--listen", "127.0.0.1:0", "--log", str(log), "--raw"]
    for name, addresses in START["records"].items():
        argv += [arg for address in addresses for arg in ("--record", f"{name}={address}")]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (log.exists() and log.read_text().strip()):
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "no start line"
        time.sleep(0.05)
    start = json.loads(log.read_text().splitlines()[0])
    yield process, log, start
    process.terminate()
    assert process.wait(timeout=10) == 0


def test_server_answers_and_records(server):
    process, log, start = server
    assert start["event"] == "start" and start["records"] == START["records"]
    udp_port = int(start["listen"][0].rsplit(":", 1)[1])
    assert start["listen"] == [f"udp 127.0.0.1:{udp_port}", f"tcp 127.0.0.1:{udp_port}"]
    sent = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(5)
        for entry in QUERIES:
            raw = bytes.fromhex(entry["raw"])
            udp.sendto(raw, ("127.0.0.1", udp_port))
            response = udp.recv(4096)
            assert response == labdns.answer(raw, START["records"], ttl=30)[0]
            sent.append(("udp", entry))
    with socket.create_connection(("127.0.0.1", udp_port), timeout=5) as tcp:
        for entry in QUERIES[:3]:  # several queries on one connection
            raw = bytes.fromhex(entry["raw"])
            tcp.sendall(struct.pack("!H", len(raw)) + raw)
            size = struct.unpack("!H", tcp.recv(2))[0]
            response = b""
            while len(response) < size:
                response += tcp.recv(size - len(response))
            assert response == labdns.answer(raw, START["records"], ttl=30)[0]
            sent.append(("tcp", entry))
    lines = [json.loads(line) for line in log.read_text().splitlines()[1:]]
    assert [(r["proto"], r["qname"], r["qtype"], r["rcode"], r["answer"], r["raw"]) for r in lines] == [
        (proto, e["qname"], e["qtype"], e["rcode"], e["answer"], e["raw"]) for proto, e in sent
    ]
    assert {r["client"] for r in lines} == {"127.0.0.1"}
    assert process.poll() is None


def test_server_refuses_bad_arguments(tmp_path):
    result = run_cli("--listen", "127.0.0.1:0", "--record", "nope", "--log", str(tmp_path / "x"))
    assert result.returncode == 2 and "NAME=IPV4" in result.stderr
