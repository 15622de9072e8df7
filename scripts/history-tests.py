#!/usr/bin/env python3
"""The `nestprobe history` command line against both stores, as a user runs it.

For a SQLite file and, when NESTPROBE_TEST_POSTGRES names a server (scripts/with-postgres.sh starts one),
a fresh PostgreSQL database: add is idempotent; a malformed report among good ones stores nothing (exit
65); the 30 real reports of Reports/history/series-2026-12-06 plus the one taken with the injected user-space
delay of the regression gate (`bench --inject-exit-delay 10%`) are stored, and `history check` (each run and
each report divided by the machine's level in it, as compare does) flags exactly the cases that exit to user
space, at that report (exit 2), while the 30 alone give exit 0; the JUnit and
JSON outputs (the latter valid against history-check-v1, saying which series was judged) say the same, and
the raw series stays available (--keep-run-levels --keep-shift, export's run_level column); trend, list,
baseline and export answer. The older series (Reports/history/series, a delay a third the size on a noisier
host) must flag user-space cases only, at its injected report. Then the failures: a database written by a
newer nestprobe (exit 65), a PostgreSQL port with nothing behind it and one that never answers (exit 69,
one line naming the host). Prints 'N passed, M failed'; exit 1 on any failure.
Usage: history-tests.py --bin .build/release/nestprobe
"""
import argparse
import glob
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import jsonschema
from referencing import Registry, Resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Recorded with scripts/history-series.py record --trim (30 plain reports, then bench --inject-exit-delay 10%).
SERIES_DIR = os.path.join(ROOT, "Reports", "history", "series-2026-12-06")
SERIES = sorted(glob.glob(os.path.join(SERIES_DIR, "r[0-9][0-9].json")))
INJECTED = os.path.join(SERIES_DIR, "r31-inject.json")
# The first series, recorded when the delay's calibration fell back to pio-out-user/real (1,797 cycles).
OLD_DIR = os.path.join(ROOT, "Reports", "history", "series")
OLD_SERIES = sorted(glob.glob(os.path.join(OLD_DIR, "r[0-9][0-9].json")))
OLD_INJECTED = os.path.join(OLD_DIR, "r31-inject.json")



def check_schema():
    """A validator of history-check-v1, with the schemas it refers to."""
    registry = Registry()
    for path in glob.glob(os.path.join(ROOT, "Reports", "schema", "*.schema.json")):
        with open(path) as f:
            doc = json.load(f)
        resource = Resource.from_contents(doc)
        registry = registry.with_resources([(doc["$id"], resource), (os.path.basename(path), resource)])
    with open(os.path.join(ROOT, "Reports", "schema", "history-check-v1.schema.json")) as f:
        return jsonschema.Draft202012Validator(json.load(f), registry=registry)


CHECK_SCHEMA = check_schema()
passed = 0
failed = 0


def expect(condition, what):
    global passed, failed
    if condition:
        passed += 1
    else:
        failed += 1
        print(f"history-tests: FAILED: {what}", file=sys.stderr)


def run(binary, *args, timeout=120):
    done = subprocess.run([binary, "history", *args], capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def user_space_cases(path):
    """The cases of a report whose exits go to user space and that ran: those the injected delay slows (check
    judges every one of them, in emulated guest modes too)."""
    with open(path) as f:
        return {c["id"] for c in json.load(f)["cases"] if c.get("exitsTo") == "user-space" and c.get("status") == "ok"}


def fresh_postgres():
    admin = os.environ["NESTPROBE_TEST_POSTGRES"]
    name = "cli_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", admin, "-q", "-c", f"CREATE DATABASE {name}"], check=True)
    return admin.rsplit("/", 1)[0] + "/" + name


def contract(binary, db, label):
    where = f"[{label}]"
    code, out, err = run(binary, "add", "--db", db, *SERIES[:2])
    expect(code == 0 and out.count("added ") == 2, f"{where} add two reports: {code} {out} {err}")
    code, out, err = run(binary, "add", "--db", db, SERIES[0])
    expect(code == 0 and "already stored" in out, f"{where} the same report again: {code} {out} {err}")

    with tempfile.TemporaryDirectory() as scratch:
        broken = os.path.join(scratch, "broken.json")
        with open(SERIES[2], "rb") as f:
            data = f.read()
        with open(broken, "wb") as f:
            f.write(data[: len(data) // 2])
        code, out, err = run(binary, "add", "--db", db, SERIES[2], broken)
        expect(code == 65, f"{where} a truncated report exits 65: {code} {err}")
        expect(err.count("\n") == 1 and "broken.json" in err, f"{where} one line naming the file: {err!r}")
    code, out, err = run(binary, "list", "--db", db, "--format", "csv")
    expect(code == 0 and out.splitlines()[1].split(",")[2] == "2", f"{where} nothing of the bad add stored: {out}")

    code, out, err = run(binary, "add", "--db", db, *SERIES)
    expect(code == 0 and out.count("added ") == len(SERIES) - 2, f"{where} the whole series: {code} {err}")
    code, out, err = run(binary, "check", "--db", db)
    expect(code == 0, f"{where} 30 plain reports: check exits 0: {code}\n{out}{err}")
    for line in out.splitlines():
        if line.startswith("  *"):
            expect(False, f"{where} a change point in the newest window of the plain series: {line}")

    code, out, err = run(binary, "add", "--db", db, INJECTED)
    expect(code == 0, f"{where} add the injected report: {code} {err}")
    code, out, err = run(binary, "check", "--db", db, "--window", "1")
    flagged = {line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("  * ")}
    user = {line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("  * ") and "report 30 " in line}
    slowed = user_space_cases(INJECTED)
    expect(code == 2, f"{where} with the injected delay: check exits 2: {code}\n{out}{err}")
    expect(flagged == user and flagged == slowed,
           f"{where} exactly the {len(slowed)} user-space cases flagged, at report 30: "
           f"missed {sorted(slowed - flagged)}, extra {sorted(flagged - slowed)}, elsewhere {sorted(flagged - user)}")
    expect("divided out per run and per report" in out, f"{where} the text names the series: {out.splitlines()[:1]}")
    print(f"history-tests {where}: check flagged {len(flagged)} of the {len(slowed)} slowed case(s) at report 30: "
          f"{', '.join(sorted(flagged))}")
    code, out, err = run(binary, "check", "--db", db, "--window", "1", "--format", "junit")
    expect(code == 2 and out.count("<failure") == len(flagged), f"{where} JUnit: one failure per flagged case")
    code, out, err = run(binary, "check", "--db", db, "--window", "1", "--format", "json")
    document = json.loads(out) if code == 2 else {}
    errors = list(CHECK_SCHEMA.iter_errors(document))
    expect(code == 2 and not errors, f"{where} JSON: exit 2 and valid: {code} {err} {[e.message for e in errors[:3]]}")
    method = document.get("method", {})
    expect(method.get("runLevelsRemoved") is True and method.get("machineShiftRemoved") is True
           and method.get("figure") == "gross" and method.get("newestReport", {}).get("correction") == "benjamini-hochberg"
           and all(m.get("runLevelReports") == 31 and m.get("reportLevelsRemoved") for m in document.get("machines", [])),
           f"{where} JSON names the corrected series: {method} {[m.get('runLevelReports') for m in document.get('machines', [])]}")
    alpha = method.get("newestReport", {}).get("alpha", 0)
    expect(all(c.get("test") == "e-divisive" and "adjustedP" not in c
               or c.get("test") == "newest-report" and 0 < c.get("adjustedP", 2) <= alpha
               for m in document.get("machines", []) for c in m["changes"] if c["inWindow"]),
           f"{where} JSON: each change says its test, the newest report's with its adjusted p")
    recent = {c["caseID"] for m in document.get("machines", []) for c in m["changes"] if c["inWindow"]}
    expect(recent == flagged and document.get("exitCode") == 2 and
           all(c["reportIndex"] == 30 and c["direction"] == "slower" for m in document.get("machines", [])
               for c in m["changes"] if c["inWindow"]),
           f"{where} JSON: the same cases as the text, slower, at report 30: {sorted(recent)}")

    # The raw series: neither level divided out, and the document says so.
    code, out, err = run(binary, "check", "--db", db, "--window", "1", "--format", "json", "--keep-run-levels",
                         "--keep-shift")
    raw = json.loads(out) if code in (0, 2, 4) else {}
    expect(not list(CHECK_SCHEMA.iter_errors(raw)) and raw.get("method", {}).get("runLevelsRemoved") is False
           and raw.get("method", {}).get("machineShiftRemoved") is False and "raw" in raw.get("method", {}).get("series", ""),
           f"{where} raw series on request: {code} {err} {raw.get('method')}")

    code, out, err = run(binary, "baseline", "--db", db)
    files = out.split()
    expect(code == 0 and 1 <= len(files) <= 10 and INJECTED not in files and files[-1] == SERIES[-1],
           f"{where} baseline: plain reports up to r30: {code} {out} {err}")
    code, out, err = run(binary, "trend", "--db", db, "--cases", "pio-out-user/*")
    expect(code == 0 and "pio-out-user/real" in out and any(c in out for c in "▁▂▃▄▅▆▇█"), f"{where} trend: {out}")
    code, out, err = run(binary, "trend", "--db", db, "--format", "html")
    expect(code == 0 and out.count("<svg") >= 10 and "class=\"cp\"" in out, f"{where} trend html with change points")
    code, out, err = run(binary, "export", "--db", db)
    expect(code == 0 and len(out.splitlines()) > 31 * 30, f"{where} export: {len(out.splitlines())} rows")
    rows = out.splitlines()
    levels = [line.rsplit(",", 1)[1] for line in rows[1:]]
    expect(rows[0].endswith(",run_level") and levels and all(0.5 < float(v) < 2 for v in levels),
           f"{where} export keeps raw figures and each run's level: {rows[:2]}")


def older_series(binary, db, label):
    """The first series: a smaller delay (1,797 cycles, 5.5–7 % of its cases) on a host whose level drifted
    16 % between reports. Check may miss slowed cases there but must flag nothing else, and only there."""
    where = f"[{label}, older series]"
    code, out, err = run(binary, "add", "--db", db, *OLD_SERIES, OLD_INJECTED)
    expect(code == 0, f"{where} add: {code} {err}")
    code, out, err = run(binary, "check", "--db", db, "--window", "1")
    flagged = {line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("  * ")}
    at = {line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("  * ") and "report 30 " in line}
    slowed = user_space_cases(OLD_INJECTED)
    expect(code in (0, 2) and flagged == at and flagged <= slowed,
           f"{where} user-space cases only, at report 30: {code} {sorted(flagged)}")
    print(f"history-tests {where}: check flagged {len(flagged)} of the {len(slowed)} slowed case(s)")


def silent_listener():
    """A TCP port that accepts and never says anything: a PostgreSQL that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held = []

    def serve():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=serve, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    binary = os.path.abspath(parser.parse_args().bin)
    for folder, plain, injected in ((SERIES_DIR, SERIES, INJECTED), (OLD_DIR, OLD_SERIES, OLD_INJECTED)):
        if len(plain) != 30 or not os.path.exists(injected):
            sys.exit(f"history-tests: {folder} must hold r01–r30.json and r31-inject.json")
    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "history.sqlite")
        contract(binary, db, "sqlite")
        older_series(binary, os.path.join(scratch, "older.sqlite"), "sqlite")
        # A database from a newer nestprobe: refused, nothing written.
        with sqlite3.connect(db) as connection:
            connection.execute("INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')")
        code, out, err = run(binary, "list", "--db", db)
        expect(code == 65 and "newer nestprobe" in err and err.count("\n") == 1, f"newer schema refused: {code} {err}")
    if os.environ.get("NESTPROBE_TEST_POSTGRES"):
        contract(binary, fresh_postgres(), "postgres")
    else:
        print("history-tests: PostgreSQL part skipped: NESTPROBE_TEST_POSTGRES unset (scripts/with-postgres.sh sets it)")

    code, out, err = run(binary, "list", "--db", "postgres://nobody@127.0.0.1:1/none", "--connect-timeout", "2")
    expect(code == 69 and "127.0.0.1:1" in err and err.count("\n") == 1, f"refused port: {code} {err!r}")
    server = silent_listener()
    port = server.getsockname()[1]
    start = time.monotonic()
    code, out, err = run(binary, "list", "--db", f"postgres://nobody@127.0.0.1:{port}/none", "--connect-timeout", "2",
                         timeout=60)
    took = time.monotonic() - start
    server.close()
    expect(code == 69 and f"127.0.0.1:{port}" in err and err.count("\n") == 1,
           f"a server that never answers: {code} {err!r} after {took:.1f} s")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
