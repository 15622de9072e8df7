#!/usr/bin/env python3
"""Builds the nestprobe container image from deploy/kubernetes/Containerfile without a daemon or a registry.

The Containerfile stays the one recipe: this script reads it and carries out its last stage with umoci
(Debian's umoci package) into an OCI image layout, then writes that layout as one tar file with its SHA-256:

  dist/nestprobe-image-VERSION.oci.tar          the OCI image layout (index.json, oci-layout, blobs/), tag VERSION
  dist/nestprobe-image-VERSION.oci.tar.sha256   its checksum (`sha256sum -c` in dist/ checks it)

What each instruction of the last stage (FROM scratch) becomes:
- COPY SRC DEST: the file, into the root file system; SRC's glob must match the binary given with --bin.
- COPY --from=STAGE SRC DEST: an earlier stage is not run (it would pull its base image): it must be a Debian
  image whose release is this machine's, and install with apt-get packages that are installed here; SRC is
  copied from this machine, and must belong to one of those packages (dpkg -S), so it is the same file.
- RUN ["exec", "form"]: run in the root file system through chroot (unshare --user --map-root-user first when
  not root), as a builder would run it in the image.
- ARG NAME: its value from --build-arg NAME=VALUE; ${NAME} and $NAME are replaced in the later values.
- ENV, LABEL, ENTRYPOINT and CMD (exec form): the image's configuration.
Any other instruction, a shell-form RUN/ENTRYPOINT/CMD, or an unknown stage is refused, so the recipe and this
builder cannot drift apart: what podman would build from the Containerfile is what this script builds.

The root file system goes into one layer. Every time stamp in it and in the image's configuration is
SOURCE_DATE_EPOCH when set, else the commit time of HEAD, so one commit and one binary make the same image,
byte for byte. index.json names the image VERSION (org.opencontainers.image.ref.name) and, for containerd's
`ctr images import`, docker.io/library/nestprobe:VERSION, the name the manifests in deploy/kubernetes/ use.
"""
import argparse
import datetime
import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTAINERFILE = os.path.join(REPO, "deploy", "kubernetes", "Containerfile")
NAME = "nestprobe"
KNOWN = {"FROM", "RUN", "COPY", "ARG", "ENV", "LABEL", "ENTRYPOINT", "CMD"}


class RecipeError(Exception):
    """A Containerfile this builder cannot carry out faithfully; the message names the line."""


def version():
    """nestprobe's version, as Sources/Documents/Version.swift states it."""
    with open(os.path.join(REPO, "Sources", "Documents", "Version.swift")) as f:
        found = re.search(r'static let string = "([^"]+)"', f.read())
    if not found:
        sys.exit("image: no version string in Sources/Documents/Version.swift")
    return found.group(1)


def instructions(path=CONTAINERFILE):
    """The Containerfile's instructions as (line number, INSTRUCTION, rest), comments dropped and continued
    lines (ending in a backslash) joined."""
    found, pending, start = [], "", 0
    with open(path) as f:
        for number, line in enumerate(f.read().splitlines(), 1):
            stripped = line.strip()
            if not pending and (not stripped or stripped.startswith("#")):
                continue
            if not pending:
                start = number
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            text = pending + stripped
            pending = ""
            word, _, rest = text.partition(" ")
            found.append((start, word.upper(), rest.strip()))
    if pending:
        raise RecipeError("line %d: a continued line with nothing after it" % start)
    return found


def exec_form(number, word, rest):
    """The JSON array of an exec-form RUN, ENTRYPOINT or CMD."""
    try:
        value = json.loads(rest)
    except ValueError:
        value = None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise RecipeError("line %d: %s must be in exec form, a JSON array of strings (got %s)" % (number, word, rest))
    return value


def substitute(text, args, number):
    """${NAME} and $NAME replaced by the build argument's value; an argument without a value is an error."""
    def value(match):
        name = match.group(1) or match.group(2)
        if name not in args:
            raise RecipeError("line %d: $%s is not an ARG of this stage" % (number, name))
        if args[name] is None:
            raise RecipeError("line %d: ARG %s has no value: pass --build-arg %s=VALUE" % (number, name, name))
        return args[name]
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", value, text)


def pairs(number, word, rest, args):
    """The KEY=VALUE pairs of ENV or LABEL (shell quoting, values substituted), in order."""
    found = []
    for item in shlex.split(rest):
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise RecipeError("line %d: %s takes KEY=VALUE pairs (got %s)" % (number, word, item))
        found.append((key, substitute(value, args, number)))
    return found


def recipe(build_args, path=CONTAINERFILE):
    """The last stage of the Containerfile as a plan: its files (copies and runs, in order), its
    configuration, and the earlier stages by name (their base image and the packages they install)."""
    stages, current = {}, None
    for number, word, rest in instructions(path):
        if word not in KNOWN:
            raise RecipeError("line %d: %s is not an instruction scripts/image.py carries out" % (number, word))
        if word == "FROM":
            parts = rest.split()
            if len(parts) not in (1, 3) or (len(parts) == 3 and parts[1].upper() != "AS"):
                raise RecipeError("line %d: FROM IMAGE [AS NAME] (got %s)" % (number, rest))
            current = {"base": parts[0], "name": parts[2] if len(parts) == 3 else None, "line": number,
                       "steps": [], "env": [], "labels": [], "entrypoint": None, "cmd": None, "args": {}}
            stages[current["name"] or "#%d" % len(stages)] = current
            continue
        if current is None:
            raise RecipeError("line %d: %s before the first FROM" % (number, word))
        if word == "ARG":
            name, equals, default = rest.partition("=")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise RecipeError("line %d: ARG NAME[=DEFAULT] (got %s)" % (number, rest))
            current["args"][name] = build_args.get(name, default if equals else None)
        elif word == "ENV":
            current["env"] += pairs(number, word, rest, current["args"])
        elif word == "LABEL":
            current["labels"] += pairs(number, word, rest, current["args"])
        elif word in ("ENTRYPOINT", "CMD"):
            current[word.lower()] = exec_form(number, word, rest)
        elif word == "RUN":
            current["steps"].append(("run", number, rest))
        elif word == "COPY":
            parts = shlex.split(rest)
            origin = None
            if parts and parts[0].startswith("--from="):
                origin = parts.pop(0)[len("--from="):]
            if len(parts) != 2 or any(p.startswith("--") for p in parts):
                raise RecipeError("line %d: COPY [--from=STAGE] SRC DEST, one source (got %s)" % (number, rest))
            current["steps"].append(("copy", number, (origin, parts[0], parts[1])))
    if current is None or current["base"] != "scratch":
        raise RecipeError("the last stage must be FROM scratch (the image is its files alone)")
    if current["entrypoint"] is None:
        raise RecipeError("the last stage has no ENTRYPOINT")
    return current, stages


def debian_release():
    """This machine's Debian release (12 for bookworm), or None elsewhere."""
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError:
        return None
    if fields.get("ID") != "debian":
        return None
    return fields.get("VERSION_ID", "").strip('"') or None


def stage_packages(stage):
    """The packages an earlier stage installs (`apt-get install … PACKAGE…` in its RUN lines)."""
    found = []
    for kind, number, rest in stage["steps"]:
        if kind != "run":
            raise RecipeError("line %d: stage %s may only RUN apt-get, to stand in for it here" % (number, stage["name"]))
        for command in re.split(r"&&|;", rest):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                found += [w for w in words[2:] if not w.startswith("-")]
    return found


def stage_file(stages, origin, source, number):
    """The file on this machine that stands in for SOURCE of stage ORIGIN, and the package it comes from."""
    stage = stages.get(origin)
    if stage is None:
        raise RecipeError("line %d: no stage named %s" % (number, origin))
    base = re.fullmatch(r"(?:docker\.io/)?(?:library/)?debian:(\d+)(?:-slim)?", stage["base"])
    here = debian_release()
    if base is None or here != base.group(1):
        raise RecipeError("line %d: stage %s is %s; it can stand in only on that Debian release (this machine: %s)"
                          % (number, origin, stage["base"], "Debian " + here if here else "not Debian"))
    packages = stage_packages(stage)
    owner = subprocess.run(["dpkg-query", "-S", source], capture_output=True, text=True)
    package = owner.stdout.split(":", 1)[0].strip() if owner.returncode == 0 else None
    if package not in packages:
        raise RecipeError("line %d: %s is not a file of the packages stage %s installs (%s): dpkg-query says %s"
                          % (number, source, origin, ", ".join(packages) or "none",
                             package or (owner.stderr.strip() or "no package")))
    state = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
    return source, "%s %s" % (package, state.stdout.strip())


def timestamp():
    """SOURCE_DATE_EPOCH, else the commit time of HEAD, else 0: the time every stamp in the image carries."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    head = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%ct"], capture_output=True, text=True)
    return int(head.stdout.strip()) if head.returncode == 0 and head.stdout.strip().isdigit() else 0


def run(command, what):
    """Runs a command; its failure ends the build with one line naming what failed."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise RecipeError("%s: %s exited %d%s" % (what, command[0], done.returncode,
                                                  (": " + detail[-1]) if detail else ""))
    return done.stdout


def place(source, root, dest):
    """Copies SOURCE into the root file system at DEST (a folder when it ends in /)."""
    target = os.path.join(root, dest.lstrip("/"))
    if dest.endswith("/"):
        target = os.path.join(target, os.path.basename(source))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(source, target)
    os.chmod(target, os.stat(source).st_mode & 0o755)


def build_layout(binary, image_version, layout, work):
    """Builds the image into the OCI layout folder LAYOUT (tag IMAGE_VERSION); returns what it did, one line
    a step, for the layer's history."""
    stage, stages = recipe({"VERSION": image_version})
    rootless = os.geteuid() != 0
    tag = "%s:%s" % (layout, image_version)
    bundle = os.path.join(work, "bundle")
    run(["umoci", "init", "--layout", layout], "umoci init")
    run(["umoci", "new", "--image", tag], "umoci new")
    run(["umoci", "unpack"] + (["--rootless"] if rootless else []) + ["--image", tag, bundle], "umoci unpack")
    root = os.path.join(bundle, "rootfs")
    done = []
    for kind, number, detail in stage["steps"]:
        if kind == "copy":
            origin, source, dest = detail
            if origin is None:
                # The binary may stand anywhere (make test links its own into .build/dist), but its name is
                # the one the recipe copies.
                if not fnmatch.fnmatch(os.path.basename(binary), os.path.basename(source)):
                    raise RecipeError("line %d: COPY %s: the binary %s does not match it" % (number, source, binary))
                place(binary, root, dest)
                done.append("COPY %s %s" % (os.path.basename(binary), dest))
            else:
                path, package = stage_file(stages, origin, source, number)
                place(path, root, dest)
                done.append("COPY --from=%s %s %s (%s, from this machine)" % (origin, source, dest, package))
        else:
            command = exec_form(number, "RUN", detail)
            if not os.path.isfile(os.path.join(root, command[0].lstrip("/"))):
                raise RecipeError("line %d: RUN %s: no such file in the image" % (number, command[0]))
            enter = (["unshare", "--user", "--map-root-user"] if rootless else []) + ["chroot", root]
            run(enter + command, "line %d: RUN" % number)
            done.append("RUN %s" % json.dumps(command))
    when = timestamp()
    stamp = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for folder, names, files in os.walk(root):
        for name in names + files:
            os.utime(os.path.join(folder, name), (when, when), follow_symlinks=False)
    os.utime(root, (when, when))
    run(["umoci", "repack", "--history.created", stamp, "--history.created_by", "; ".join(done),
         "--history.comment", "built by scripts/image.py from deploy/kubernetes/Containerfile",
         "--image", tag, bundle], "umoci repack")
    config = ["--created", stamp, "--architecture", "amd64", "--os", "linux", "--no-history", "--clear=config.env",
              "--clear=config.labels", "--clear=config.entrypoint", "--clear=config.cmd"]
    for key, value in stage["env"]:
        config += ["--config.env", "%s=%s" % (key, value)]
    for key, value in stage["labels"]:
        config += ["--config.label", "%s=%s" % (key, value)]
    for word in stage["entrypoint"]:
        config += ["--config.entrypoint", word]
    for word in stage["cmd"] or []:
        config += ["--config.cmd", word]
    run(["umoci", "config"] + config + ["--image", tag], "umoci config")
    run(["umoci", "gc", "--layout", layout], "umoci gc")
    # containerd names an imported image by this annotation; the manifests run docker.io/library/nestprobe:VERSION.
    index_path = os.path.join(layout, "index.json")
    with open(index_path) as f:
        index = json.load(f)
    for manifest in index["manifests"]:
        manifest.setdefault("annotations", {})["io.containerd.image.name"] = "docker.io/library/%s:%s" % (
            NAME, image_version)
    with open(index_path, "w") as f:
        json.dump(index, f, sort_keys=True, separators=(",", ":"))
    return done


def archive(layout, path, when):
    """The layout folder as one tar file: sorted names, owner root, every time stamp WHEN, modes 0644/0755."""
    def entry(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = when
        info.mode = 0o755 if info.isdir() else 0o644
        return info
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for folder, names, files in os.walk(layout):
            names.sort()
            relative = os.path.relpath(folder, layout)
            if relative != ".":
                tar.add(folder, arcname=relative, recursive=False, filter=entry)
            for name in sorted(files):
                tar.add(os.path.join(folder, name), arcname=os.path.normpath(os.path.join(relative, name)),
                        filter=entry)


def sha256_of(path):
    """The SHA-256 of a file, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(binary, out_dir, image_version=None):
    """Builds the image of BINARY into OUT_DIR/nestprobe-image-VERSION.oci.tar and its .sha256; returns the
    archive's path."""
    image_version = image_version or version()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "%s-image-%s.oci.tar" % (NAME, image_version))
    work = tempfile.mkdtemp(prefix="nestprobe-image-")
    try:
        layout = os.path.join(work, "layout")
        build_layout(binary, image_version, layout, work)
        partial = path + ".partial"
        archive(layout, partial, timestamp())
        os.replace(partial, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(path + ".sha256", "w") as f:
        f.write("%s  %s\n" % (sha256_of(path), os.path.basename(path)))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", help="the static nestprobe (default dist/nestprobe-VERSION-linux-x86_64)")
    parser.add_argument("--out", default=os.path.join(REPO, "dist"), help="the folder to write the image to")
    options = parser.parse_args()
    binary = os.path.abspath(options.bin or os.path.join(REPO, "dist", "%s-%s-linux-x86_64" % (NAME, version())))
    if not os.path.isfile(binary):
        sys.exit("image: no binary at %s (make dist writes it)" % binary)
    missing = [tool for tool in ("umoci", "dpkg-query") if shutil.which(tool) is None]
    if missing:
        sys.exit("image: %s missing (./scripts/setup.sh --test installs umoci)" % ", ".join(missing))
    try:
        path = build(binary, options.out)
    except RecipeError as error:
        sys.exit("image: %s: %s" % (os.path.relpath(CONTAINERFILE, REPO), error))
    print("image: %s (%.1f MB), sha256 %s" % (os.path.relpath(path), os.path.getsize(path) / 1e6,
                                              sha256_of(path)[:16]))


if __name__ == "__main__":
    main()
