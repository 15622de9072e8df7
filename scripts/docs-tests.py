#!/usr/bin/env python3
"""Checks the generated man page and shell completions (scripts/make-docs.sh, `make docs`; part of `make test`).

- The man page and the bash, zsh and fish completions are generated, and each names every subcommand (the
  command tree is read from the binary's --experimental-dump-help, so a new subcommand is checked too).
- groff renders the man page without warnings.
- Every argument that takes a file (an output, a report, a snapshot, a policy, a database, a device) is
  declared to complete file names, and bash really completes them: the bash script is sourced and asked to
  complete a few command lines in a scratch folder, as the shell would on TAB.

    scripts/docs-tests.py --bin .build/release/nestprobe
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Arguments that name a file, by value name or by long option name.
FILE_VALUE_NAMES = {"file", "report", "path", "db", "name|file"}
FILE_OPTIONS = {"output", "snapshot", "junit", "report-out", "policy", "thresholds", "db", "device"}
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print(f"docs-tests: FAIL {message}")


def commands(node, path=()):
    """(path, command) for the command and every subcommand below it."""
    here = path + (node["commandName"],)
    yield here, node
    for sub in node.get("subcommands", []):
        yield from commands(sub, here)


def bash_complete(script, words, folder):
    """What the bash completion offers for `words` (the last one being completed), run in `folder`."""
    line = " ".join(words)
    program = (
        f"source {script}\n"
        f"COMP_WORDS=({' '.join(repr(w) if w else repr('') for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\nCOMP_LINE={line!r}\nCOMP_POINT=${{#COMP_LINE}}\n"
        "_nestprobe nestprobe \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    result = subprocess.run(["bash", "-c", program], cwd=folder, capture_output=True, text=True, timeout=60)
    return [line for line in result.stdout.split("\n") if line], result.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", required=True)
    options = parser.parse_args()
    binary = str(pathlib.Path(options.bin).resolve())
    out = pathlib.Path(tempfile.mkdtemp(prefix="nestprobe-docs-"))
    subprocess.run([str(ROOT / "scripts" / "make-docs.sh"), binary, str(out)], check=True)

    tree = json.loads(subprocess.run([binary, "--experimental-dump-help"], capture_output=True, check=True).stdout)
    everything = list(commands(tree["command"]))
    names = sorted({path[-1] for path, _ in everything[1:] if path[-1] != "help"})
    check(len(names) >= 13, f"the dump names only {len(names)} subcommands: {names}")

    page = (out / "man" / "nestprobe.1").read_text()
    check(".Dt NESTPROBE 1" in page, "the man page has no .Dt NESTPROBE 1 header")
    for name in names:
        check(re.search(rf"^\.It Em {re.escape(name)}$", page, re.M), f"the man page has no entry for {name}")
    rendered = subprocess.run(
        ["groff", "-mandoc", "-Tutf8", "-ww", "-z", str(out / "man" / "nestprobe.1")], capture_output=True, text=True)
    check(rendered.returncode == 0 and not rendered.stderr.strip(), f"groff warns: {rendered.stderr.strip()[:500]}")

    scripts = {shell: out / "completions" / file
               for shell, file in [("bash", "nestprobe.bash"), ("zsh", "_nestprobe"), ("fish", "nestprobe.fish")]}
    for shell, script in scripts.items():
        text = script.read_text()
        for name in names:
            check(re.search(rf"[\s'\"(|]{re.escape(name)}[\s'\")|]", text), f"the {shell} completion does not name {name}")
    check(subprocess.run(["bash", "-n", str(scripts["bash"])]).returncode == 0, "the bash completion does not parse")

    # Every file argument is declared to complete files.
    file_arguments = 0
    for path, command in everything:
        for argument in command.get("arguments", []):
            longs = {n["name"] for n in argument.get("names", []) if n["kind"] == "long"}
            if argument.get("valueName") in FILE_VALUE_NAMES or longs & FILE_OPTIONS:
                file_arguments += 1
                kind = argument.get("completionKind") or {}
                check("file" in kind or "directory" in kind,
                      f"{' '.join(path)} {argument.get('valueName')}: completes no file names ({kind})")
    check(file_arguments >= 20, f"only {file_arguments} file arguments found in the dump")
    check("_files" in scripts["zsh"].read_text(), "the zsh completion never completes files (_files)")
    check(re.search(r" -r?F\b", scripts["fish"].read_text()), "the fish completion never completes files (-F)")

    # bash, as on TAB, in a scratch folder.
    folder = pathlib.Path(tempfile.mkdtemp(prefix="nestprobe-completion-"))
    for name in ["alpha.bench.json", "notes.txt"]:
        (folder / name).write_text("{}\n")
    (folder / "reports").mkdir()
    cases = [
        (["nestprobe", "diag"], "diagnose"),
        (["nestprobe", "history", "ba"], "baseline"),
        (["nestprobe", "render", "al"], "alpha.bench.json"),
        (["nestprobe", "render", "re"], "reports"),
        (["nestprobe", "bench", "-o", "no"], "notes.txt"),
        (["nestprobe", "qualify", "--policy", "al"], "alpha.bench.json"),
        (["nestprobe", "qualify", "--report-out", "no"], "notes.txt"),
        (["nestprobe", "compare", "al"], "alpha.bench.json"),
        (["nestprobe", "history", "add", "al"], "alpha.bench.json"),
        (["nestprobe", "diagnose", "--snapshot", "no"], "notes.txt"),
        (["nestprobe", "history", "check", "--db", "no"], "notes.txt"),
    ]
    for words, expected in cases:
        offered, errors = bash_complete(scripts["bash"], words, folder)
        check(expected in offered, f"bash: `{' '.join(words)}<TAB>` offers {offered}, not {expected} {errors.strip()[:300]}")
    # An extension filter still offers folders, and leaves other files out.
    offered, _ = bash_complete(scripts["bash"], ["nestprobe", "render", "no"], folder)
    check("notes.txt" not in offered, f"bash: render offers {offered} for a report, a .txt file among them")

    subprocess.run(["rm", "-rf", "--", str(out), str(folder)], check=False)
    if failures:
        sys.exit(f"docs-tests: {len(failures)} failed")
    print(f"docs-tests: man page and bash/zsh/fish completions name all {len(names)} subcommands; "
          f"{file_arguments} file arguments complete files; {len(cases) + 1} bash completions as on TAB")


if __name__ == "__main__":
    main()
