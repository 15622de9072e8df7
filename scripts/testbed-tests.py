#!/usr/bin/env python3
"""Integration tests in the SVM test bed (scripts/testbed.sh): nestprobe inside a QEMU-emulated AMD host
running Debian's kernel with kvm_amd. Two boots, side by side:

  svm    -cpu EPYC,+svm,+npt: capture, diagnose, bench, then kvm_amd reloaded with nested=0 and diagnose again
  nosvm  -cpu EPYC,-svm:      kvm_amd cannot load; diagnose and bench without /dev/kvm

Each check prints one PASS or FAIL line; the exit status is 1 when any failed or the bed could not boot.
What nestprobe said in there is printed after the checks, and every file stays under .bed/out/.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The interrupt cases the bed runs through kvm_amd's in-kernel LAPIC (one run each: a few seconds of the boot).
# The runner fails a run whose handler did not run exactly once per iteration (none for the EOI), so "ok"
# means the counts were right.
# The guest's guest's self-IPI is injected by the mini-hypervisor (EVENTINJ), its intercepts counted too; so is
# the guest's guest's timer, the mini-hypervisor's own routed to it (#VMEXIT INTR, its own IDT, EVENTINJ).
INTERRUPT_CASES = ["ipi-self-x2apic/long64-cpl0", "eoi-x2apic/long64-cpl0", "tsc-deadline/long64-cpl0",
                   "ipi-self-x2apic/svm-inner", "tsc-deadline/svm-inner"]
# The CPL3 cases: syscall and the guest's own page fault (no exit under SVM with NPT), port I/O with IOPL 3 (to
# user space: SVM honours the guest's IOPL, unlike kvm_pvm), and the interrupts arriving at CPL3.
# The IPI from CPL3 (the xAPIC ICR on the user-mapped APIC page) to a halted second vCPU; the spinning one is
# left out, as at CPL0: the bed's L1 has one CPU, so each IPI to a spinning vCPU waits for the scheduler.
CPL3_CASES = ["syscall/long64-cpl3", "syscall-iret/long64-cpl3", "page-fault-guest/long64-cpl3",
              "pio-out-user/long64-cpl3", "ipi-self-xapic/long64-cpl3", "tsc-deadline/long64-cpl3",
              "ipi-halt/long64-cpl3"]
CPL3_EXITS_TO = {"syscall/long64-cpl3": "none", "syscall-iret/long64-cpl3": "none",
                 "page-fault-guest/long64-cpl3": "none", "pio-out-user/long64-cpl3": "user-space",
                 "ipi-self-xapic/long64-cpl3": "kernel", "tsc-deadline/long64-cpl3": "kernel",
                 "ipi-halt/long64-cpl3": "kernel"}
BOOTS = {
    "svm": {
        "cpu": "EPYC,+svm,+npt",
        "steps": [
            "capture: nestprobe capture -o $OUT/svm.snapshot.json",
            "diagnose: nestprobe diagnose --json -o $OUT/svm.diagnosis.json",
            "bench: nestprobe bench --budget 2s -o $OUT/svm.bench.json",
            "interrupts: nestprobe bench --cases " + ",".join(INTERRUPT_CASES) + " --runs 1 -o $OUT/svm.interrupts.json",
            "cpl3: nestprobe bench --cases " + ",".join(CPL3_CASES) + " --runs 1 -o $OUT/svm.cpl3.json",
            "reload: kvm-amd reload nested=0",
            "diagnose-nested0: nestprobe diagnose --json -o $OUT/nested0.diagnosis.json",
        ],
    },
    "nosvm": {
        "cpu": "EPYC,-svm",
        "steps": [
            "diagnose: nestprobe diagnose --json -o $OUT/nosvm.diagnosis.json",
            "bench: nestprobe bench --budget 1s -o $OUT/nosvm.bench.json",
        ],
    },
}


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, name, ok, detail):
        print("bed: %s  %s: %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)
        return ok


class Boot:
    """The files one boot brought back: NAME.stdout/.stderr/.rc per step, and the JSON documents."""

    def __init__(self, folder):
        self.folder = folder

    def text(self, name):
        try:
            with open(os.path.join(self.folder, name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def rc(self, step):
        value = self.text(step + ".rc").strip()
        return int(value) if value.lstrip("-").isdigit() else None

    def json(self, name):
        try:
            with open(os.path.join(self.folder, name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def run(command, **kwargs):
    return subprocess.run(command, cwd=REPO, text=True, capture_output=True, **kwargs)


def boot_all(binary, out, timeout):
    """Starts every boot at once (each QEMU runs one emulated CPU on one host core); returns the failures."""
    running = {}
    for name, boot in BOOTS.items():
        folder = os.path.join(out, name)
        command = ["scripts/testbed.sh", "run", "-q", "--bin", binary, "--cpu", boot["cpu"], "--out", folder,
                   "--timeout", str(timeout), "--"] + boot["steps"]
        log = open(os.path.join(out, name + ".log"), "w")
        running[name] = (subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT), log)
    failures = {}
    for name, (process, log) in running.items():
        process.wait()
        log.close()
        with open(os.path.join(out, name + ".log")) as f:
            lines = [line for line in f.read().splitlines() if "TCG doesn't support requested feature" not in line]
        if process.returncode != 0:
            failures[name] = lines[-12:]
        for line in lines:
            if line.startswith("testbed: [") and ("booted" in line or "exit" in line):
                print("  " + line)
    return failures


def check_svm(checks, boot):
    info = boot.text("bed.info")
    flags = set(next((l for l in info.splitlines() if l.startswith("flags")), "").split())
    checks.check("svm/bed", {"svm", "npt", "hypervisor"} <= flags,
                 "the emulated CPU shows svm, npt and hypervisor" if {"svm", "npt", "hypervisor"} <= flags
                 else "cpuinfo flags lack %s" % sorted({"svm", "npt", "hypervisor"} - flags))
    load = boot.text("kvm-load.stdout")
    checks.check("svm/kvm-load", boot.rc("kvm-load") == 0 and "kvm_amd.nested=1" in load and "/dev/kvm" in load,
                 "kvm_amd loaded, %s" % " ".join(l for l in load.split() if l.startswith(("kvm_amd.nested", "kvm_amd.npt", "kvm_amd.nrips")))
                 if boot.rc("kvm-load") == 0 else "insmod failed: %s" % boot.text("kvm-load.stderr").strip())
    check_capture(checks, boot)
    d = boot.json("svm.diagnosis.json")
    if not checks.check("svm/diagnose", boot.rc("diagnose") == 0 and d is not None,
                        "exit %s, %s" % (boot.rc("diagnose"), "report written" if d else "no report: %s" % boot.text("diagnose.stderr").strip())):
        return
    check_level(checks, d)
    check_timing_discounted(checks, d)
    check_hosting(checks, d)
    check_bench(checks, boot)
    check_interrupts(checks, boot)
    check_cpl3(checks, boot)
    check_nested_off(checks, boot)


def check_capture(checks, boot):
    s = boot.json("svm.snapshot.json")
    checks.check("svm/capture", boot.rc("capture") == 0 and s is not None,
                 "snapshot written (%d CPUID leaves)" % len(s.get("cpuid", {}).get("value", [])) if s
                 else "exit %s: %s" % (boot.rc("capture"), boot.text("capture.stderr").strip()))


def check_level(checks, d):
    ranges = d["hypervisors"]["ranges"]
    kinds = [(r["kind"], r["signature"]) for r in ranges]
    checks.check("svm/diagnose hypervisor", d["hypervisors"]["hypervisorBit"] and ("QEMU TCG", "TCGTCGTCGTCG") in kinds,
                 "hypervisor bit set, 0x40000000 says %s" % kinds)
    level = d["level"]
    checks.check("svm/diagnose level", level["level"] == "L1" and level["lowerBound"] == "L1",
                 "%s (lower bound %s, confidence %.0f %%)" % (level["level"], level["lowerBound"], 100 * level["confidence"]))


def check_timing_discounted(checks, d):
    timing = next((e for e in d["level"]["evidence"] if e["source"].startswith("timed CPUID")), None)
    cost = d.get("hostExitCost", {}).get("value") or {}
    cheap = cost.get("netMedianCycles", 1e9) < 300
    weightless = timing is not None and all(w == 0 for w in timing["weights"].values())
    says_why = timing is not None and "discounted" in timing["note"] and "TCG" in timing["note"]
    checks.check("svm/diagnose timing", cheap and weightless and says_why,
                 "cpuid costs %s net cycles here (no trap) and the report says: %s"
                 % (cost.get("netMedianCycles"), timing["note"] if timing else "nothing"))


def check_hosting(checks, d):
    h = d["hosting"]
    checks.check("svm/diagnose hosting", h["canHost"] == "yes" and h["kvmModule"] == "kvm_amd" and h["mechanism"] == "SVM"
                 and h["kvmDevice"].startswith("usable"),
                 "canHost %s through %s (%s), /dev/kvm %s" % (h["canHost"], h["kvmModule"], h["mechanism"], h["kvmDevice"]))
    params = {p["name"]: p for p in h["parameters"] if p["module"] == "kvm_amd"}
    wanted = ("nested", "npt", "nrips", "avic")
    interpreted = all(name in params and params[name]["meaning"] for name in wanted)
    checks.check("svm/diagnose kvm_amd parameters", interpreted,
                 "; ".join("%s=%s: %s" % (n, params[n]["value"], params[n]["meaning"]) for n in wanted if n in params)
                 if interpreted else "missing or uninterpreted: %s" % [n for n in wanted if not params.get(n, {}).get("meaning")])
    nested_on = params.get("nested", {}).get("value") in ("1", "Y")
    checks.check("svm/diagnose nesting", nested_on and h["guestsCanHost"] == "yes" and "SVM" in h["guestsCanHostReason"]
                 and not h["blockers"],
                 "nested=%s; guests can host: %s — %s" % (params.get("nested", {}).get("value"), h["guestsCanHost"], h["guestsCanHostReason"]))


def check_bench(checks, boot):
    b = boot.json("svm.bench.json")
    if not checks.check("svm/bench", boot.rc("bench") == 0 and b is not None,
                        "exit %s, %s" % (boot.rc("bench"), "report written" if b else boot.text("bench.stderr").strip()[-300:])):
        return
    c = b["context"]
    checks.check("svm/bench context", c["kvmModule"] == "kvm_amd" and c["mechanism"] == "SVM" and c["emulatedHost"] is True,
                 "kvmModule %s, mechanism %s, emulatedHost %s, notes: %s" % (c["kvmModule"], c["mechanism"], c["emulatedHost"], c["notes"]))
    # kvm_amd runs guests at CPL0 natively (kvm_pvm cannot), so every CPL0 case must run here, whatever its mode.
    cpl0 = [x for x in b["cases"] if x["cpl"] == 0]
    not_ok = ["%s: %s %s" % (x["id"], x["status"], x.get("reason") or "") for x in cpl0 if x["status"] != "ok"]
    modes = {}
    for x in cpl0:
        modes[x["mode"]] = modes.get(x["mode"], 0) + 1
    checks.check("svm/bench CPL0 cases", cpl0 and not not_ok,
                 "all %d CPL0 cases ok (%s)" % (len(cpl0), ", ".join("%s %d" % m for m in modes.items()))
                 if cpl0 and not not_ok else "not ok: %s" % not_ok)
    hypercalls = {x["id"]: x for x in cpl0 if x["id"].startswith("hypercall/")}
    ok = {"hypercall/real", "hypercall/long64-cpl0"} <= set(hypercalls) and all(
        x["status"] == "ok" and x["sampleCount"] > 0 and "vmmcall" in x["mechanism"] for x in hypercalls.values())
    checks.check("svm/bench vmmcall", ok,
                 ", ".join("%s %s, %s samples, %.0f net cycles" % (i, x["status"], x["sampleCount"], x.get("netMedianCycles") or 0)
                           for i, x in sorted(hypercalls.items())) or "no hypercall case")
    # Three levels: every case of the guest's guest ran under the mini-hypervisor — its canary came back and
    # it handled exactly the intercepts the loop had to cause.
    inner = [x for x in b["cases"] if x["mode"] == "svm-inner"]
    def proven(x):
        gh = x.get("guestHypervisor") or {}
        return (x["status"] == "ok" and x["attribution"] == "guest-hypervisor"
                and gh.get("innerSignature") == "NestprobeSVM" and gh.get("intercepts") == gh.get("expectedIntercepts"))
    unproven = [x["id"] for x in inner if not proven(x)]
    checks.check("svm/bench three levels", inner and not unproven,
                 "%d guest's-guest cases, each with canary NestprobeSVM and every intercept handled by the mini-hypervisor"
                 % len(inner) if inner and not unproven else "not proven: %s" % (unproven or "no svm-inner case"))
    # The other cases (CPL3, whatever the catalogue adds) may be skipped with a reason, never fail.
    others = [x for x in b["cases"] if x not in cpl0]
    failed = ["%s: %s" % (x["id"], x.get("reason") or x.get("failure")) for x in others if x["status"] == "failed"]
    skipped = ["%s (%s)" % (x["id"], x.get("reason")) for x in others if x["status"] == "skipped"]
    checks.check("svm/bench other cases", not failed,
                 "%d more: %d ok%s" % (len(others), len(others) - len(skipped), "; skipped: " + "; ".join(skipped) if skipped else "")
                 if not failed else "failed: %s" % "; ".join(failed))


def check_interrupts(checks, boot):
    """The self-IPI, the EOI and the TSC-deadline timer in the L1 guest, through kvm_amd's in-kernel LAPIC."""
    b = boot.json("svm.interrupts.json")
    if not checks.check("svm/interrupts", boot.rc("interrupts") == 0 and b is not None,
                        "exit %s, %s" % (boot.rc("interrupts"), "report written" if b else boot.text("interrupts.stderr").strip()[-300:])):
        return
    cases = {x["id"]: x for x in b["cases"]}
    missing = [i for i in INTERRUPT_CASES if i not in cases]
    not_ok = ["%s: %s %s" % (i, cases[i]["status"], cases[i].get("reason") or "") for i in INTERRUPT_CASES
              if i in cases and (cases[i]["status"] != "ok" or not cases[i]["sampleCount"])]
    checks.check("svm/interrupts handler counts", not missing and not not_ok,
                 ", ".join("%s ok, %s samples, %.0f net cycles" % (i, cases[i]["sampleCount"], cases[i].get("netMedianCycles") or 0)
                           for i in INTERRUPT_CASES) if not missing and not not_ok
                 else "missing %s; not ok: %s" % (missing, not_ok))
    check_timer_route(checks, cases.get("tsc-deadline/svm-inner"))


def check_timer_route(checks, case):
    """The guest's guest's timer: one #VMEXIT INTR per iteration (warm-up included, one run), besides its canary
    CPUID and the MSR exits (X2APIC_INIT's 4, then the deadline write and the EOI per iteration), every one handled
    by the mini-hypervisor, and its handler's count right (the runner fails the case otherwise)."""
    gh = (case or {}).get("guestHypervisor") or {}
    intercepts = gh.get("intercepts") or {}
    intr = intercepts.get("VMEXIT_INTR", 0)
    ok = (case is not None and case["status"] == "ok" and gh.get("innerSignature") == "NestprobeSVM"
          and intercepts == gh.get("expectedIntercepts") and intr > 0
          and set(intercepts) == {"VMEXIT_CPUID", "VMEXIT_MSR", "VMEXIT_INTR"}
          and intercepts.get("VMEXIT_CPUID") == 1 and intercepts.get("VMEXIT_MSR") == 4 + 2 * intr)
    checks.check("svm/timer in the guest's guest", ok,
                 "%d VMEXIT_INTR (one per iteration), %d VMEXIT_MSR, 1 VMEXIT_CPUID, all the mini-hypervisor's"
                 % (intr, intercepts.get("VMEXIT_MSR", 0)) if ok
                 else "status %s, %s; intercepts %s, expected %s"
                 % ((case or {}).get("status"), (case or {}).get("reason"), intercepts, gh.get("expectedIntercepts")))


def check_cpl3(checks, boot):
    """The CPL3 cases in the L1 guest: each ok (the runner checked the page faults resumed, the exits to user space
    and the handler counts), each exit where SVM sends it."""
    b = boot.json("svm.cpl3.json")
    if not checks.check("svm/cpl3", boot.rc("cpl3") == 0 and b is not None,
                        "exit %s, %s" % (boot.rc("cpl3"), "report written" if b else boot.text("cpl3.stderr").strip()[-300:])):
        return
    cases = {x["id"]: x for x in b["cases"]}
    bad = ["%s: %s %s, exits to %s" % (i, cases[i]["status"], cases[i].get("reason") or "", cases[i].get("exitsTo"))
           if i in cases else "%s: missing" % i
           for i in CPL3_CASES
           if i not in cases or cases[i]["status"] != "ok" or not cases[i]["sampleCount"]
           or cases[i].get("exitsTo") != CPL3_EXITS_TO[i]]
    checks.check("svm/cpl3 cases", not bad,
                 ", ".join("%s %s, %.0f net cycles" % (i, CPL3_EXITS_TO[i], cases[i].get("netMedianCycles") or 0)
                           for i in CPL3_CASES) if not bad else "; ".join(bad))


def check_nested_off(checks, boot):
    reload = boot.text("reload.stdout")
    checks.check("nested=0/reload", boot.rc("reload") == 0 and "kvm_amd.nested=0" in reload,
                 "kvm_amd reloaded: %s" % next((l for l in reload.split() if l.startswith("kvm_amd.nested")), boot.text("reload.stderr").strip()))
    d = boot.json("nested0.diagnosis.json")
    if not checks.check("nested=0/diagnose", boot.rc("diagnose-nested0") == 0 and d is not None, "exit %s" % boot.rc("diagnose-nested0")):
        return
    h = d["hosting"]
    blocker = next((x for x in h["blockers"] if "nested" in x["problem"]), None)
    checks.check("nested=0/diagnose guests", h["canHost"] == "yes" and h["guestsCanHost"] == "no",
                 "canHost %s, guests can host: %s — %s" % (h["canHost"], h["guestsCanHost"], h["guestsCanHostReason"]))
    checks.check("nested=0/diagnose fix", blocker is not None and "nested=1" in blocker.get("fix", ""),
                 "%s; fix: %s" % (blocker["problem"], blocker["fix"]) if blocker else "no blocker names nested: %s" % h["blockers"])


def check_nosvm(checks, boot):
    checks.check("nosvm/kvm-load", boot.rc("kvm-load") not in (0, None) and "no hardware support" in boot.text("kvm-load.stderr"),
                 "kvm_amd refused: %s" % " | ".join(boot.text("kvm-load.stderr").strip().splitlines()[:2]))
    d = boot.json("nosvm.diagnosis.json")
    if not checks.check("nosvm/diagnose", boot.rc("diagnose") == 0 and d is not None, "exit %s" % boot.rc("diagnose")):
        return
    h = d["hosting"]
    checks.check("nosvm/diagnose hosting", h["canHost"] == "no" and h["kvmDevice"] == "absent" and not h["cpuSVM"],
                 "canHost %s, /dev/kvm %s, CPU SVM %s" % (h["canHost"], h["kvmDevice"], h["cpuSVM"]))
    blocker = h["blockers"][0] if h["blockers"] else None
    checks.check("nosvm/diagnose why", blocker is not None and "SVM" in blocker["problem"] and blocker.get("fix"),
                 "%s; fix: %s" % (blocker["problem"], blocker["fix"]) if blocker else "no blocker given")
    b = boot.json("nosvm.bench.json")
    checks.check("nosvm/bench", boot.rc("bench") == 69 and b is not None,
                 "exit %s (69: no /dev/kvm), report %s" % (boot.rc("bench"), "written" if b else "missing"))


def validate(checks, out, name):
    result = run([sys.executable, "scripts/validate.py", "Reports/schema", os.path.join(out, name)])
    lines = (result.stdout + result.stderr).strip().splitlines()
    checks.check("%s/schema" % name, result.returncode == 0, " / ".join(lines[-3:]))


def said(out):
    """What nestprobe said in there, short and verbatim: the summaries and the bench table's head."""
    print("bed: what nestprobe said inside the bed")
    for boot, doc in (("svm", "svm.diagnosis.json"), ("svm", "nested0.diagnosis.json"), ("nosvm", "nosvm.diagnosis.json")):
        d = Boot(os.path.join(out, boot)).json(doc)
        if d:
            print("  [%s] diagnose:" % doc.split(".")[0])
            for line in d["summary"][:6]:
                print("    " + line)
    bench = Boot(os.path.join(out, "svm")).text("bench.stdout").splitlines()
    rows = [l for l in bench if l.startswith(("nestprobe bench", "  note:", "    and says", "hypercall/", "pio-out-user/real", "cpuid-0/real"))]
    if rows:
        print("  [svm] bench:")
        for line in rows:
            print("    " + line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.environ.get("NESTPROBE_BIN", ".build/release/nestprobe"))
    parser.add_argument("--out", default=".bed/out")
    parser.add_argument("--timeout", type=int, default=150, help="per boot, seconds")
    parser.add_argument("--save-snapshot", metavar="FILE", help="copy the snapshot captured in the svm boot here")
    args = parser.parse_args()
    started = time.time()
    checks = Checks()
    print("bed: SVM test bed (QEMU TCG, AMD EPYC model, Debian's kernel with kvm_amd)", flush=True)
    prepared = run(["scripts/testbed.sh", "prepare", "--bin", args.bin])
    if prepared.returncode == 0 and not shutil.which("qemu-system-x86_64"):
        prepared = subprocess.CompletedProcess([], 1, "", "qemu-system-x86_64 not found: apt-get install qemu-system-x86")
    if prepared.returncode != 0:
        checks.check("bed/prepare", False, prepared.stderr.strip() or prepared.stdout.strip())
        print("bed: FAILED — the bed could not be prepared (scripts/setup.sh --test installs and fetches what it needs)")
        return 1
    out = os.path.join(REPO, args.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    failures = boot_all(args.bin, out, args.timeout)
    for name, check in (("svm", check_svm), ("nosvm", check_nosvm)):
        if name in failures:
            checks.check("%s/boot" % name, False, "the bed did not finish:\n    " + "\n    ".join(failures[name]))
        else:
            check(checks, Boot(os.path.join(out, name)))
            validate(checks, out, name)
    if args.save_snapshot and os.path.exists(os.path.join(out, "svm", "svm.snapshot.json")):
        shutil.copy(os.path.join(out, "svm", "svm.snapshot.json"), args.save_snapshot)
    said(out)
    verdict = "FAILED (%s)" % ", ".join(checks.failed) if checks.failed else "ok"
    print("bed: %s — %d passed, %d failed in %.0f s; files under %s"
          % (verdict, checks.passed, len(checks.failed), time.time() - started, args.out), flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
