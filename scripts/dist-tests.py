#!/usr/bin/env python3
"""Runs the portable nestprobe and nestprobe-history (scripts/dist.py) inside clean Debian roots with no Swift.

Each root is a `debootstrap --variant=minbase` of Debian 11 (bullseye) and 12 (bookworm), made once and kept
under .cache/roots/ (ignored by git; delete a folder there to make it again). For each command the test enters a
private mount namespace (unshare --mount), binds the host's /proc, /sys and /dev into the root there, so the binds
end with the command and nothing stays mounted, and runs the binary through chroot with an empty environment
except PATH and HOME. It checks the exit code of each command, the JSON documents against Reports/schema
(scripts/validate.py), the JUnit output as XML and the OpenMetrics output with promtool when that is installed.
bench runs only where /dev/kvm opens read-write here, under the shared lock /tmp/nestprobe-kvm.lock.

Each check prints one PASS or FAIL line; the exit status is 1 when any failed, or a root could not be made.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = {"bullseye": "Debian 11", "bookworm": "Debian 12"}
MIRROR = "http://deb.debian.org/debian"
# Inside each root the binary and its inputs live in this folder, which the test makes and removes.
WORK = "/nestprobe-dist-test"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C"}

failures = []


def check(name, ok, detail=""):
    print("%s  %s%s" % ("PASS" if ok else "FAIL", name, ("  (%s)" % detail) if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def make_roots(roots, suites):
    """The cached root of each suite, made with debootstrap where it is not there yet (the suites at once: it
    waits on the mirror more than on the CPU). A suite whose root could not be made fails its check and is left
    out; when none could be made the binary still runs in a root built from files (FILES_ROOT)."""
    os.makedirs(roots, exist_ok=True)
    made, started = {}, {}
    for suite in suites:
        root = os.path.join(roots, suite)
        if os.path.isfile(os.path.join(root, "etc", "debian_version")):
            made[suite] = root
            continue
        partial = root + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        log = open(partial + ".log", "w")
        print("dist-tests: making a clean %s root with debootstrap from %s (once; kept in %s)"
              % (SUITES[suite], MIRROR, os.path.relpath(root, REPO)), flush=True)
        command = ["debootstrap", "--variant=minbase", suite, partial, MIRROR]
        started[suite] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), partial, log)
    for suite, (process, partial, log) in started.items():
        try:
            code = process.wait(timeout=900)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        log.close()
        if code == 0:
            os.rename(partial, os.path.join(roots, suite))
            os.remove(log.name)
            made[suite] = os.path.join(roots, suite)
        else:
            with open(log.name, errors="replace") as f:
                print("".join(f.readlines()[-10:]), end="")
            check("%s root: debootstrap --variant=minbase %s from %s" % (suite, suite, MIRROR), False,
                  "exit %d; the log is %s" % (code, os.path.relpath(log.name, REPO)))
    if not made:
        print("dist-tests: no Debian root could be made (is %s reachable?); running in a root built from files "
              "instead: no Debian userland, only the files below" % MIRROR, flush=True)
        made["files"] = files_root(roots)
    return made


def files_root(roots):
    """A root with nothing but the mount points and the password, group and NSS files (the fallback)."""
    root = os.path.join(roots, "files")
    shutil.rmtree(root, ignore_errors=True)
    for folder in ("proc", "sys", "dev", "tmp", "root", "etc"):
        os.makedirs(os.path.join(root, folder))
    files = {"passwd": "root:x:0:0:root:/root:/bin/sh\n", "group": "root:x:0:\n",
             "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n"}
    for name, text in files.items():
        with open(os.path.join(root, "etc", name), "w") as f:
            f.write(text)
    return root


def run_in(root, args, lock=False, env=None, trace=None):
    """Runs nestprobe ARGS in `root` (binds of /proc, /sys and /dev in a private mount namespace). The root
    needs nothing in it: chroot executes the binary directly, with the environment given here. With `trace`,
    strace writes the files the process opened and the programs it executed there."""
    binds = " && ".join("mount --rbind /%s %s/%s" % (d, root, d) for d in ("proc", "sys", "dev"))
    inner = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
             binds + ' && exec "$@"', "sh"]
    if trace:
        inner += ["strace", "-f", "-qq", "-e", "trace=open,openat,execve", "-o", trace]
    inner += ["chroot", root, WORK + "/nestprobe"] + args
    if lock:
        inner = ["flock", "/tmp/nestprobe-kvm.lock"] + inner
    return subprocess.run(inner, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300,
                          env=env if env is not None else ENV)


def shared_objects(trace):
    """The shared objects the traced nestprobe opened (after its own execve): none, for a static binary that
    reaches no NSS module, gconv module or dlopen."""
    opened, started = [], False
    with open(trace) as f:
        for line in f:
            if "execve(\"%s/nestprobe\"" % WORK in line:
                started = True
            found = re.search(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]+)".*\) = \d+', line)
            if started and found and re.search(r"\.so(\.[0-9]+)*$|/gconv/", found.group(1)):
                opened.append(found.group(1))
    return opened


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as error:
        return False, error.strerror
    os.close(fd)
    return True, "opens read-write"


def test_root(suite, root, binary, history_binary, results):
    """Every check for one root; the JSON documents it writes are copied into `results`. The core binary is
    there alone first (`history` then says what is missing), then nestprobe-history beside it."""
    tag = suite
    work = root + WORK
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        shutil.copy2(binary, work + "/nestprobe")
        shutil.copy2(os.path.join(REPO, "Reports", "policies", "nested-ready.json"), work + "/nested-ready.json")
        shutil.copy2(os.path.join(REPO, "Reports", "pvm-host-genoa", "bench.json"), work + "/genoa.bench.json")
        shutil.copy2(os.path.join(REPO, "Tests", "ProbeTests", "Fixtures", "snapshots", "hyperv-nested.json"),
                     work + "/hyperv-nested.snapshot.json")
        series = sorted(f for f in os.listdir(os.path.join(REPO, "Reports", "history", "series-2026-12-06"))
                        if f.endswith(".json"))
        os.makedirs(work + "/series")
        for f in series:
            shutil.copy2(os.path.join(REPO, "Reports", "history", "series-2026-12-06", f), work + "/series/" + f)
        alone = run_in(root, ["history", "list"])
        check("%s: without nestprobe-history, `nestprobe history list` exits 69 with one line naming it" % tag,
              alone.returncode == 69 and "nestprobe-history" in alone.stderr
              and len(alone.stderr.strip().splitlines()) == 1,
              "exit %d, stderr: %s" % (alone.returncode, alone.stderr.strip()[-300:]))
        shutil.copy2(history_binary, work + "/nestprobe-history")
        _test_commands(tag, root, work, series, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _test_commands(tag, root, work, series, results):
    w = WORK
    # The root is clean: no Swift toolchain or runtime, no libcpuid, no SQLite library.
    leftovers = [p for p in ("usr/bin/swift", "usr/lib/swift", "opt/swift") if os.path.exists(os.path.join(root, p))]
    for base, _, files in os.walk(os.path.join(root, "usr", "lib")):
        leftovers += [os.path.join(base, f) for f in files if f.startswith(("libswiftCore", "libcpuid", "libsqlite3"))]
    check("%s: the root has no Swift runtime, libcpuid or SQLite library" % tag, not leftovers, ", ".join(leftovers))

    def expect(name, args, codes, lock=False, env=None, out_has=None, trace=None):
        result = run_in(root, args, lock=lock, env=env, trace=trace)
        detail = "exit %d" % result.returncode
        ok = result.returncode in codes
        if ok and out_has is not None and out_has not in result.stdout:
            ok, detail = False, detail + ", %r not in its output" % out_has
        if not ok:
            detail += "; stderr: %s" % result.stderr.strip()[-400:]
        check("%s: nestprobe %s" % (tag, name or " ".join(args)), ok, detail)
        return result

    version = expect("--version", ["--version"], {0}, out_has="nestprobe ")
    if version.stdout:
        print("      %s" % version.stdout.strip())
    # scripts/dist.py stamps the checkout's revision into both binaries ("unknown" without git).
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    revision = head.stdout.strip() if head.returncode == 0 and head.stdout.strip() else "unknown"
    check("%s: --version names the revision the binary was built from (%s)" % (tag, revision),
          re.match(r"^nestprobe \S+ \(%s(-dirty)?\)$" % re.escape(revision), version.stdout.strip()) is not None,
          version.stdout.strip())
    companion = expect("history --version (nestprobe-history)", ["history", "--version"], {0})
    check("%s: nestprobe-history carries the same version and revision" % tag,
          companion.stdout.strip() == version.stdout.strip(), companion.stdout.strip())
    text = expect("diagnose (text)", ["diagnose"], {0})
    check("%s: diagnose printed a summary" % tag, len(text.stdout.splitlines()) >= 3,
          "%d lines" % len(text.stdout.splitlines()))
    # Under strace: the live diagnosis reads this machine (CPUID, sysfs, /dev/kvm, MSRs) and loads no shared
    # object: no NSS module, gconv module or anything else through dlopen.
    trace = os.path.join(results, "%s-diagnose.strace" % tag) if shutil.which("strace") else None
    expect("", ["diagnose", "--json", "-o", w + "/live.diagnosis.json"], {0}, trace=trace)
    if trace:
        loaded = shared_objects(trace)
        check("%s: diagnose opened no shared object" % tag, not loaded, ", ".join(loaded))
    expect("", ["capture", "-o", w + "/live.snapshot.json"], {0})
    expect("", ["diagnose", "--snapshot", w + "/live.snapshot.json", "--json", "-o", w + "/replayed.diagnosis.json"],
           {0})
    expect("", ["diagnose", "--snapshot", w + "/hyperv-nested.snapshot.json", "--json", "-o",
                w + "/hyperv.diagnosis.json"], {0})
    usable, why = kvm_usable()
    report = w + "/genoa.bench.json"
    if usable:
        expect("bench (under the KVM lock)", ["bench", "--budget", "2s", "--quiet", "-o", w + "/live.bench.json"], {0},
               lock=True)
        report = w + "/live.bench.json"
    else:
        print("SKIP  %s: nestprobe bench: /dev/kvm %s" % (tag, why))
    # Render every format of a bench report (the live one where bench ran, else the committed Genoa report).
    for fmt, suffix in (("text", "txt"), ("markdown", "md"), ("html", "html"), ("openmetrics", "prom"),
                        ("junit", "junit.xml")):
        expect("render --format %s" % fmt, ["render", report, "--format", fmt, "-o", w + "/render." + suffix], {0})
    try:
        xml.etree.ElementTree.parse(work + "/render.junit.xml")
        check("%s: the JUnit output is well-formed XML" % tag, True)
    except (OSError, xml.etree.ElementTree.ParseError) as error:
        check("%s: the JUnit output is well-formed XML" % tag, False, str(error))
    if shutil.which("promtool") and os.path.exists(work + "/render.prom"):
        with open(work + "/render.prom") as f:
            lint = subprocess.run(["promtool", "check", "metrics"], stdin=f, capture_output=True, text=True)
        check("%s: promtool accepts the OpenMetrics output" % tag, lint.returncode == 0, lint.stderr.strip()[-300:])
    expect("compare (a report with itself)", ["compare", report, report, "--json", "-o", w + "/self.compare.json"],
           {0, 5})
    expect("qualify --policy", ["qualify", "--policy", w + "/nested-ready.json", report, "--json", "-o",
                                w + "/live.qualification.json"], {0, 3})
    # The history in SQLite (GRDB over the static libsqlite3): 30 reports and one with an injected delay, then
    # check finds the regression in the newest window (exit 2).
    expect("history add (SQLite)", ["history", "add", "--db", w + "/history.sqlite"]
           + [w + "/series/" + f for f in series], {0})
    expect("history check", ["history", "check", "--db", w + "/history.sqlite", "--window", "1", "--format", "json",
                             "-o", w + "/series.history-check.json"], {2})
    # PostgreSQL (postgres-nio over SwiftNIO) when scripts/with-postgres.sh runs a server on loopback: a fresh
    # database, the same series, the same verdict.
    admin = os.environ.get("NESTPROBE_TEST_POSTGRES")
    if admin and shutil.which("psql"):
        name = "dist_%s_%d" % (tag, os.getpid())
        subprocess.run(["psql", admin, "-q", "-c", "CREATE DATABASE %s" % name], check=True)
        db = admin.rsplit("/", 1)[0] + "/" + name
        expect("history add (PostgreSQL)", ["history", "add", "--db", db] + [w + "/series/" + f for f in series], {0})
        expect("history check (PostgreSQL)", ["history", "check", "--db", db, "--window", "1"], {2})
    else:
        print("SKIP  %s: nestprobe history on PostgreSQL: no server (scripts/with-postgres.sh starts one)" % tag)
    # With HOME unset the default history path comes from the password database (getpwuid): glibc 2.34 and
    # later has its "files" source inside libc.a, so the static binary reads the root's /etc/passwd itself and
    # loads no NSS module of the root's glibc (another version: 2.31 in Debian 11).
    home = os.path.join(root, "root", ".local", "share", "nestprobe")
    shutil.rmtree(os.path.join(root, "root", ".local"), ignore_errors=True)
    trace = os.path.join(results, "%s-history.strace" % tag) if shutil.which("strace") else None
    expect("history list without HOME", ["history", "list"], {0}, env={"PATH": ENV["PATH"]}, trace=trace)
    check("%s: without HOME the history is under root's home from /etc/passwd" % tag,
          os.path.isfile(os.path.join(home, "history.sqlite")))
    if trace:
        loaded = shared_objects(trace)
        check("%s: the password lookup opened no shared object" % tag, not loaded, ", ".join(loaded))
    shutil.rmtree(os.path.join(root, "root", ".local"), ignore_errors=True)
    # Bad input: one line on stderr and the documented exit code.
    expect("render of a missing file (66)", ["render", w + "/missing.json"], {66})
    expect("an unknown option (64)", ["diagnose", "--no-such-option"], {64})
    for f in os.listdir(work):
        if f.endswith(".json") and f.split(".")[-2] in ("diagnosis", "snapshot", "bench", "compare", "qualification",
                                                          "history-check"):
            shutil.copy2(os.path.join(work, f), os.path.join(results, "%s-%s" % (tag, f)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="the static nestprobe (dist/nestprobe-VERSION-linux-x86_64); "
                        "nestprobe-history-VERSION-linux-x86_64 is taken from beside it")
    parser.add_argument("--roots", default=os.path.join(REPO, ".cache", "roots"), help="where the roots are kept")
    parser.add_argument("--suite", action="append", choices=sorted(SUITES), help="only this root (repeatable)")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("dist-tests: needs root (debootstrap, unshare --mount and chroot)")
    binary = os.path.abspath(options.bin)
    # nestprobe-history-VERSION-linux-x86_64 beside nestprobe-VERSION-linux-x86_64 (scripts/dist.py).
    history_binary = os.path.join(os.path.dirname(binary),
                                  os.path.basename(binary).replace("nestprobe", "nestprobe-history", 1))
    for path in (binary, history_binary):
        if not os.path.isfile(path):
            sys.exit("dist-tests: no binary at %s (python3 scripts/dist.py makes it)" % path)
        name = os.path.basename(path)
        elf = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True)
        check("%s is static (no program interpreter, no dynamic section)" % name,
              elf.returncode == 0 and "INTERP" not in elf.stdout and "DYNAMIC" not in elf.stdout,
              "readelf exit %d" % elf.returncode)
        # The checksum beside it (scripts/dist.py writes one), checked as the README's Install section does.
        if os.path.isfile(path + ".sha256"):
            verified = subprocess.run(["sha256sum", "-c", name + ".sha256"],
                                      cwd=os.path.dirname(path), capture_output=True, text=True)
            check("sha256sum -c accepts the checksum file of %s" % name, verified.returncode == 0,
                  (verified.stdout + verified.stderr).strip())
        else:
            check("a checksum file beside %s" % name, False, "no %s.sha256" % path)
    print("      sizes: %s %.1f MB, %s %.1f MB" % (os.path.basename(binary), os.path.getsize(binary) / 1e6,
                                                  os.path.basename(history_binary),
                                                  os.path.getsize(history_binary) / 1e6))
    results = tempfile.mkdtemp(prefix="nestprobe-dist-")
    try:
        for suite, root in make_roots(os.path.abspath(options.roots), options.suite or sorted(SUITES)).items():
            test_root(suite, root, binary, history_binary, results)
        validated = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "validate.py"),
                                    os.path.join(REPO, "Reports", "schema"), results], capture_output=True, text=True)
        print(validated.stdout.strip())
        check("every JSON document from the roots matches Reports/schema", validated.returncode == 0)
    finally:
        shutil.rmtree(results, ignore_errors=True)
    print("dist-tests: %s" % ("all passed" if not failures else "%d failed: %s" % (len(failures), "; ".join(failures))))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
