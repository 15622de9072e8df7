#!/usr/bin/env python3
"""Runs the README's workflow commands as a new user would paste them (part of `make test`).

Every ```sh block in the README's "The three workflows" section must follow a marker line

    <!-- readme-test: WORKFLOW exits CODE... -->

and the blocks of one WORKFLOW run in order, with bash, in one fresh empty folder, with `nestprobe` on PATH
(a small wrapper around --bin that records each invocation's exit code and takes /tmp/nestprobe-kvm.lock
for the commands that boot KVM guests). A block passes when bash and every nestprobe invocation in it exit
with one of the CODEs (the verdict codes the workflow documents, e.g. compare's 2/4/5); a usage error, a
missing file (66) or an unwritable output (73) fails it. HOME and XDG_DATA_HOME point into the folder, so the
history lands there. The one thing that cannot run here is writing into the system's node-exporter folder
(/var/lib/prometheus/node-exporter, root's, outside the test's folder): such a path is replaced by a
scratch folder of the same name inside the test's folder, and the script says so.

    scripts/readme-workflows.py --bin .build/release/nestprobe [--readme README.md] [--only WORKFLOW]
"""

import argparse
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- readme-test: ([a-z0-9-]+) exits ((?:\d+ ?)+) -->$")
LOCK = "/tmp/nestprobe-kvm.lock"
# Paths a README command may name that belong to the system, and why the test writes a scratch copy instead.
SYSTEM_PATHS = {
    "/var/lib/prometheus/node-exporter": "the node exporter's textfile folder (root's, outside this test's folder)",
}

WRAPPER = """#!/bin/sh
# nestprobe as the README's commands call it: the binary under test, its exit code logged; the commands that
# boot KVM guests (bench, qualify, the diagnosis) hold the KVM lock while they run.
case "${1:-}" in
    bench | qualify | diagnose | "" | -*) flock %(lock)s %(bin)s "$@" ;;
    *) %(bin)s "$@" ;;
esac
status=$?
printf '%%s\\t%%s\\n' "$status" "$*" >>%(log)s
exit $status
"""


def blocks(readme: pathlib.Path):
    """(workflow, allowed exit codes, script, line number) for each marked block of the workflows section."""
    lines = readme.read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("## The three workflows"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    found = []
    i = start
    while i < end:
        if lines[i].startswith("```sh"):
            marker = MARKER.match(lines[i - 1])
            if not marker:
                sys.exit(f"README.md:{i + 1}: a shell block of the workflows without a readme-test marker before it")
            body = []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            codes = {int(code) for code in marker.group(2).split()}
            found.append((marker.group(1), codes, "\n".join(body) + "\n", i + 1))
        i += 1
    return found


def run_workflow(name, items, binary, keep):
    folder = pathlib.Path(tempfile.mkdtemp(prefix=f"nestprobe-readme-{name}-"))
    tools = pathlib.Path(tempfile.mkdtemp(prefix="nestprobe-readme-bin-"))
    log = tools / "invocations.log"
    wrapper = tools / "nestprobe"
    wrapper.write_text(WRAPPER % {"lock": shlex.quote(LOCK), "bin": shlex.quote(str(binary)), "log": shlex.quote(str(log))})
    wrapper.chmod(0o755)
    env = dict(os.environ)
    env.update(
        PATH=f"{tools}:{env.get('PATH', '/usr/bin:/bin')}",
        HOME=str(folder / ".home"),
        XDG_DATA_HOME=str(folder / ".local-share"),
        NO_COLOR="1",
    )
    env.pop("NESTPROBE_HISTORY_DB", None)
    failures = []
    for workflow, codes, script, line in items:
        for path, why in SYSTEM_PATHS.items():
            if path in script:
                scratch = folder / path.lstrip("/")
                scratch.mkdir(parents=True, exist_ok=True)
                script = script.replace(path, str(scratch))
                print(f"readme-workflows: {workflow} (README.md:{line}): not writing to {path}, {why}: "
                      f"writing to {scratch.relative_to(folder)} in the test's folder instead")
        log.write_text("")
        result = subprocess.run(["bash", "-c", script], cwd=folder, env=env, capture_output=True, text=True)
        calls = [entry.split("\t", 1) for entry in log.read_text().splitlines()]
        bad = [f"exit {status}: nestprobe {args}" for status, args in calls if int(status) not in codes]
        if result.returncode not in codes:
            bad.append(f"the block exited {result.returncode}")
        if not calls:
            bad.append("no nestprobe command ran")
        summary = ", ".join(f"{args.split(' ')[0] or 'diagnose'} {status}" for status, args in calls)
        if bad:
            failures.append(f"{workflow} (README.md:{line}): " + "; ".join(bad) + f"\n--- stderr:\n{result.stderr[-3000:]}")
            print(f"readme-workflows: FAIL {workflow} (README.md:{line}): " + "; ".join(bad))
        else:
            print(f"readme-workflows: ok {workflow} (README.md:{line}): {len(calls)} nestprobe commands ({summary})")
    made = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    print(f"readme-workflows: {name}: the folder now holds {', '.join(made)}")
    if not keep:
        subprocess.run(["rm", "-rf", "--", str(folder), str(tools)], check=False)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True, help="the nestprobe binary to test")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--only", help="run this workflow alone")
    parser.add_argument("--keep", action="store_true", help="keep the folders (their paths are printed)")
    options = parser.parse_args()
    binary = pathlib.Path(options.bin).resolve()
    if not os.access(binary, os.X_OK):
        sys.exit(f"readme-workflows: {options.bin}: not an executable")
    found = blocks(pathlib.Path(options.readme))
    workflows = {}
    for item in found:
        workflows.setdefault(item[0], []).append(item)
    if options.only:
        workflows = {options.only: workflows.get(options.only, [])}
    if not any(workflows.values()):
        sys.exit("readme-workflows: no marked workflow blocks found")
    failures = []
    for name, items in workflows.items():
        failures += run_workflow(name, items, binary, options.keep)
    if failures:
        print("\n\n".join(failures), file=sys.stderr)
        sys.exit(f"readme-workflows: {len(failures)} block(s) failed")
    print(f"readme-workflows: {sum(len(v) for v in workflows.values())} blocks of {len(workflows)} workflows ran as written")


if __name__ == "__main__":
    main()
