#!/usr/bin/env python3
"""The Ansible playbook (ansible/qualify-fleet.yml) against real hosts on this machine.

scripts/netns-hosts.sh starts N network namespaces (default 4), each with its own sshd: nshost1..N-2 as
this machine is, nshost(N-1) whose /dev has no kvm, nshostN down (no sshd). The playbook runs from the
repository against their inventory, exactly as a user runs it, and the test checks that the play finished
(exit 0, every host in the recap), that each good host's diagnosis, bench, qualification and capture
came back into OUTDIR/<host>/ valid against Reports/schema with its host.json label, that the host without
kvm is reported no-kvm (and its own diagnosis says /dev/kvm is missing), that the down host is reported
down, and that summary.json, summary.txt and the play's output say so. A second run on one host with a
policy that does not exist and nestprobe_require_all checks a failing step and the strict exit. The hosts
are stopped (and the check that nothing of them is left runs) whatever happens, also on SIGINT/SIGTERM.

Needs root (ip netns, mount namespaces), ansible-core and Debian's openssh-server (scripts/setup.sh
--test). Prints the playbook's wall time and 'N passed, M failed'; exit 1 on any failure.
Usage: ansible-tests.py --bin .build/release/nestprobe [--hosts N] [--keep]
"""
import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import jsonschema
from referencing import Registry, Resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTS_SCRIPT = os.path.join(ROOT, "scripts", "netns-hosts.sh")
PLAYBOOK = os.path.join(ROOT, "ansible", "qualify-fleet.yml")
KVM_LOCK = "/tmp/nestprobe-kvm.lock"

passed = failed = 0


def check(ok, what, detail=""):
    """Counts one assertion and prints it when it fails."""
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s%s" % (what, (": " + detail) if detail else ""))


def missing_tools():
    """What the test needs and does not find (scripts/setup.sh --test installs both), or None."""
    if not os.access("/usr/sbin/sshd", os.X_OK):
        return "/usr/sbin/sshd is missing (Debian's openssh-server)"
    try:
        import ansible  # noqa: F401  (the playbook runs as `python3 -m ansible playbook`)
    except ImportError:
        return "ansible-core is missing"
    return None


def load(path):
    """The JSON document at path, or None where it is missing or malformed."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def validate(folder, docs):
    """Validates the host's reports with scripts/validate.py (which picks the schema by the name's suffix)."""
    scratch = tempfile.mkdtemp(prefix="np15-schema.")
    try:
        for name, kind in docs:
            shutil.copy(os.path.join(folder, name), os.path.join(scratch, "report.%s.json" % kind))
        run = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "validate.py"),
                              os.path.join(ROOT, "Reports", "schema"), scratch],
                             capture_output=True, text=True)
        return run.returncode == 0, run.stdout.strip()
    finally:
        shutil.rmtree(scratch)


def schema_errors(doc, name):
    """The first errors of doc against Reports/schema/NAME, with the schemas it refers to."""
    registry = Registry()
    docs = {}
    for path in glob.glob(os.path.join(ROOT, "Reports", "schema", "*.schema.json")):
        with open(path) as f:
            schema = json.load(f)
        docs[os.path.basename(path)] = schema
        resource = Resource.from_contents(schema)
        registry = registry.with_resources([(schema["$id"], resource), (os.path.basename(path), resource)])
    validator = jsonschema.Draft202012Validator(docs[name], registry=registry)
    return ["%s: %s" % ("/".join(map(str, e.path)), e.message) for e in validator.iter_errors(doc)][:3]


class Play:
    """ansible-playbook in a session of its own, so that a signal to the test can end it and its workers."""

    running = None

    @classmethod
    def run(cls, argv, cwd, env):
        """Runs the playbook to its end; returns (exit status, standard output, standard error)."""
        cls.running = subprocess.Popen([sys.executable, "-m", "ansible", "playbook"] + argv, cwd=cwd, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       start_new_session=True)
        out, err = cls.running.communicate()
        code = cls.running.returncode
        cls.running = None
        return code, out, err

    @classmethod
    def end(cls):
        """Ends a playbook still running (SIGTERM to its session, SIGKILL after 5 s)."""
        play = cls.running
        if play is None or play.poll() is not None:
            return
        try:
            os.killpg(play.pid, signal.SIGTERM)
            play.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(play.pid, signal.SIGKILL)
            play.wait()
        except ProcessLookupError:
            pass


def leftovers(state):
    """Processes that still name the hosts' folder (sshd, its sessions, ssh control masters)."""
    run = subprocess.run(["pgrep", "-af", state], capture_output=True, text=True)
    return [line for line in run.stdout.splitlines() if "pgrep" not in line]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the nestprobe binary the playbook copies to the hosts")
    parser.add_argument("--hosts", type=int, default=4, help="namespace hosts to start (at least 3)")
    parser.add_argument("--keep", action="store_true", help="keep the reports folder (the hosts still stop)")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        print("ansible-tests: %s is not an executable" % binary, file=sys.stderr)
        return 66
    if os.geteuid() != 0:
        print("ansible-tests: skipped: not root (ip netns and mount namespaces need it)")
        return 0
    why = missing_tools()
    if why:
        print("ansible-tests: %s: run scripts/setup.sh --test" % why, file=sys.stderr)
        return 1

    # A short path: ssh's control sockets live under it and a socket path has at most 107 bytes.
    state = tempfile.mkdtemp(prefix="np15.", dir="/tmp")
    stopped = [False]

    def stop_hosts():
        if not stopped[0]:
            stopped[0] = True
            subprocess.run([HOSTS_SCRIPT, "stop", state])

    def on_signal(signum, _frame):
        Play.end()
        stop_hosts()
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
        sys.exit(128 + signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    n = args.hosts
    good = ["nshost%d" % i for i in range(1, n - 1)]
    nokvm, down = "nshost%d" % (n - 1), "nshost%d" % n
    outdir = os.path.join(state, "reports")
    try:
        start = subprocess.run([HOSTS_SCRIPT, "start", state, str(n)])
        if start.returncode != 0:
            check(False, "netns-hosts.sh start", "exit %d" % start.returncode)
            return 1
        home = os.path.join(state, "ansible")
        env = dict(os.environ,
                   # Nothing of Ansible's lands in ~/.ansible: its home, temporary files and ssh control
                   # sockets are in the hosts' folder.
                   ANSIBLE_HOME=home, ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
                   ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(state, "cp"),
                   ANSIBLE_REMOTE_TMP=os.path.join(home, "remote-tmp"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        extra = {
            "nestprobe_outdir": outdir,
            "nestprobe_binary": binary,
            # By name: the role finds Reports/policies/nested-ready.json in the checkout.
            "nestprobe_policy": "nested-ready",
            # The hosts share this machine's CPUs: one bench at a time, and a short one.
            "nestprobe_bench_lock": KVM_LOCK,
            "nestprobe_bench_args": ["--cases", "cpuid", "--runs", "1", "--budget", "5s"],
            "nestprobe_capture": True,
        }
        began = time.monotonic()
        code, stdout, stderr = Play.run(["-i", os.path.join(state, "inventory.ini"), PLAYBOOK,
                                         "-e", json.dumps(extra)], ROOT, env)
        took = time.monotonic() - began
        print("ansible: the playbook ran %d hosts in %.1f s (exit %d)" % (n, took, code), flush=True)
        with open(os.path.join(state, "play.log"), "w") as f:
            f.write(stdout + stderr)

        # The play finished: exit 0, every host in the recap, none of the reachable ones failed.
        check(code == 0, "the playbook exits 0", (stdout + stderr)[-3000:])
        recap = stdout[stdout.find("PLAY RECAP"):]
        check(recap.startswith("PLAY RECAP"), "the play reaches its recap")
        for host in good + [nokvm, down]:
            line = next((l for l in recap.splitlines() if l.startswith(host + " ")), "")
            check("failed=0" in line, "%s is in the recap with failed=0" % host, line)

        summary = load(os.path.join(outdir, "summary.json"))
        check(summary is not None and summary.get("schema") == "nestprobe.fleet-summary",
              "summary.json is written")
        errors = schema_errors(summary or {}, "fleet-summary-v1.schema.json")
        check(not errors, "summary.json is valid against fleet-summary-v1", errors)
        for host in good + [nokvm, down]:
            errors = schema_errors(load(os.path.join(outdir, host, "host.json")) or {}, "fleet-host-v1.schema.json")
            check(not errors, "%s: host.json is valid against fleet-host-v1" % host, errors)
        by_host = {h["host"]: h for h in (summary or {}).get("hosts", [])}
        check(sorted(by_host) == sorted(good + [nokvm, down]), "summary.json lists every host", str(sorted(by_host)))
        text = open(os.path.join(outdir, "summary.txt")).read() if os.path.exists(
            os.path.join(outdir, "summary.txt")) else ""

        kvm_here = os.path.exists("/dev/kvm")
        for host in good:
            folder = os.path.join(outdir, host)
            entry = by_host.get(host, {})
            for name in ("diagnosis.json", "bench.json", "qualification.json", "qualification.junit.xml",
                         "snapshot.json", "host.json"):
                check(os.path.isfile(os.path.join(folder, name)), "%s: %s fetched" % (host, name))
            if not os.path.isfile(os.path.join(folder, "qualification.json")):
                continue
            ok, out = validate(folder, [("diagnosis.json", "diagnosis"), ("bench.json", "bench"),
                                        ("qualification.json", "qualification"), ("snapshot.json", "snapshot")])
            check(ok, "%s: its reports are valid against Reports/schema" % host, out)
            qual = load(os.path.join(folder, "qualification.json")) or {}
            diag = load(os.path.join(folder, "diagnosis.json")) or {}
            labelled = load(os.path.join(folder, "host.json")) or {}
            check(qual.get("policy", {}).get("name") == "nested-ready", "%s: qualified against nested-ready" % host)
            check(labelled.get("host") == host and labelled.get("label") == "namespace-good"
                  and labelled.get("version") == 1 and labelled.get("nestprobe", "").startswith("nestprobe "),
                  "%s: host.json names the host and its label" % host, json.dumps(labelled))
            if kvm_here:
                want = "qualified" if qual.get("qualified") else "not-qualified"
                check(entry.get("qualified") == qual.get("qualified"), "%s: the summary carries the verdict" % host)
                check(entry.get("status") == want, "%s: reported %s, as its qualification says" % (host, want),
                      json.dumps(entry))
                check(diag.get("hosting", {}).get("canHost") == "yes",
                      "%s: its diagnosis finds /dev/kvm usable" % host)
            else:
                check(entry.get("status") == "no-kvm", "%s: no-kvm like this machine" % host, json.dumps(entry))

        entry = by_host.get(nokvm, {})
        check(entry.get("status") == "no-kvm" and "/dev/kvm" in entry.get("detail", ""),
              "%s is reported no-kvm, naming /dev/kvm" % nokvm, json.dumps(entry))
        diag = load(os.path.join(outdir, nokvm, "diagnosis.json")) or {}
        blockers = " ".join(b.get("problem", "") for b in diag.get("hosting", {}).get("blockers", []))
        check(diag.get("hosting", {}).get("canHost") == "no" and "/dev/kvm is missing" in blockers,
              "%s: its own diagnosis says /dev/kvm is missing" % nokvm, blockers)
        check((load(os.path.join(outdir, nokvm, "host.json")) or {}).get("label") == "namespace-no-kvm",
              "%s: host.json carries its label" % nokvm)

        entry = by_host.get(down, {})
        check(entry.get("status") == "down" and "Connection refused" in entry.get("detail", ""),
              "%s is reported down (connection refused)" % down, json.dumps(entry))
        check(sorted(os.listdir(os.path.join(outdir, down))) == ["host.json"] if os.path.isdir(
            os.path.join(outdir, down)) else False, "%s: only its host.json, no reports" % down)

        for host, status in [(nokvm, "no-kvm"), (down, "down")] + [(h, by_host.get(h, {}).get("status", "?"))
                                                                    for h in good]:
            line = next((l for l in text.splitlines() if l.startswith(host + " ")), "")
            check(status in line.split(), "summary.txt: %s %s" % (host, status), line)
            check(any(host in l and status in l for l in stdout.splitlines()),
                  "the play's output prints %s %s" % (host, status))

        # A step that fails: a policy name that is neither a repository file nor built in makes qualify
        # exit 66 on the host; the host is recorded failed with that step and the binary's line, and with
        # nestprobe_require_all the play then fails (after writing the summary).
        # Its folder is relative: taken from the folder the playbook runs in.
        again = dict(extra, nestprobe_outdir="reports-failed", nestprobe_policy="no-such-policy",
                     nestprobe_hosts=good[0], nestprobe_require_all=True)
        code, stdout, stderr = Play.run(["-i", os.path.join(state, "inventory.ini"), PLAYBOOK,
                                         "-e", json.dumps(again)], state, dict(env, PWD=state))
        check(code != 0 and "not qualified: %s" % good[0] in stdout,
              "with nestprobe_require_all a host not qualified fails the play", stdout[-1500:])
        hosts = (load(os.path.join(state, "reports-failed", "summary.json")) or {}).get("hosts", [])
        entry = hosts[0] if len(hosts) == 1 else {}
        check(entry.get("host") == good[0] and entry.get("status") == "failed"
              and entry.get("detail", "").startswith("Qualify the bench report") and "no-such-policy" in
              entry.get("detail", ""), "a failing step is reported with the step and the binary's line",
              json.dumps(hosts))

        # One report for the fleet: `nestprobe fleet` over the folder the play fetched into lists every host
        # with its label, the no-kvm and down hosts with their outcome, and exits 3 (not every host qualified).
        fleet = subprocess.run([binary, "fleet", outdir, "--json"], capture_output=True, text=True, timeout=120)
        check(fleet.returncode == 3, "fleet over the fetched reports exits 3 (the down host is not qualified)",
              "exit %d: %s" % (fleet.returncode, fleet.stderr[-800:]))
        try:
            matrix = json.loads(fleet.stdout)
        except ValueError:
            matrix = {}
        errors = schema_errors(matrix, "fleet-v1.schema.json")
        check(not errors, "fleet's JSON is valid against fleet-v1", errors)
        rows = {h.get("host"): h for g in matrix.get("groups", []) for h in g.get("hosts", [])}
        check(sorted(rows) == sorted(good + [nokvm, down]), "fleet has one row per host", str(sorted(rows)))
        for host in good:
            row = rows.get(host, {})
            check(row.get("label") == "namespace-good" and row.get("reports", {}).get("bench", 0) >= 1
                  and (row.get("policies") or [{}])[0].get("policy") == "nested-ready",
                  "fleet: %s with its label, its bench and its qualification" % host, json.dumps(row)[:600])
        check(rows.get(nokvm, {}).get("label") == "namespace-no-kvm", "fleet: %s with its label" % nokvm)
        check(rows.get(down, {}).get("status") == "down" and rows.get(down, {}).get("qualified") is False,
              "fleet: %s is down and not qualified" % down, json.dumps(rows.get(down, {})))
        shown = subprocess.run([binary, "fleet", outdir], capture_output=True, text=True, timeout=120).stdout
        check(all(host in shown for host in good + [nokvm, down]), "fleet's text matrix names every host",
              shown[-1500:])
    finally:
        Play.end()
        stop_hosts()
    left = leftovers(state)
    check(not left, "nothing of the hosts is left running", "; ".join(left))
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    mine = [l for l in open(os.path.join(state, "inventory.ini"))] if os.path.exists(
        os.path.join(state, "inventory.ini")) else []
    slot = next((l.split("10.215.")[1].split(".")[0] for l in mine if "10.215." in l), None)
    check(slot is None or not any(l.startswith("np%s-" % slot) for l in names.splitlines()),
          "the namespaces are deleted", names)
    if args.keep:
        print("ansible: reports kept in %s" % outdir)
    else:
        shutil.rmtree(state, ignore_errors=True)
    print("ansible: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
