#!/usr/bin/env python3
"""The nestprobe container image, built and run offline: no daemon, no registry (scripts/image.py, `make image`).

It builds the image of the given static binary twice from deploy/kubernetes/Containerfile (the two archives must
be the same bytes), then checks the OCI image layout against the image specification: index.json and oci-layout,
every blob's digest and size, one manifest with one gzip layer, the configuration's diff_id, architecture and
OS, and its entrypoint, command, environment and labels against the Containerfile's own lines. The layer must
hold the binary (the same bytes), busybox and busybox's applet links, and nothing else; both are static ELF
executables (no program interpreter, no dynamic section). Each command the manifests in deploy/kubernetes/ run
must be in the image, and their image must be the tag the build names.

Then it runs the image with crun (Debian's crun, an OCI runtime) from a bundle that umoci unpacks from the
archive, its root file system read-only as the manifests ask: --version, the default command (diagnose),
diagnose --json without /dev/kvm and, where this machine has one, with /dev/kvm passed in as a device plugin
does, a mistyped command (exit 64), the manifests' shell, and the qualifying Job's whole script (a short bench
under /tmp/nestprobe-kvm.lock, its reports checked against Reports/schema). crun 1.8 refuses a cgroup v1
machine whose cgroup v2 hierarchy holds controllers ("cgroups in hybrid mode not supported"), as this one does
(hugetlb): there it runs in a private mount namespace with an empty tmpfs over /sys/fs/cgroup/unified, and
with --cgroup-manager=disabled everywhere, so no cgroup is made or left behind.

Needs root (crun, unshare --mount). Each check prints one PASS or FAIL line; exit 1 when any failed.
Usage: image-tests.py --bin .build/dist/nestprobe-VERSION-linux-x86_64
"""
import argparse
import gzip
import hashlib
import importlib.util
import io
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(REPO, "deploy", "kubernetes")
LOCK = "/tmp/nestprobe-kvm.lock"
spec = importlib.util.spec_from_file_location("image", os.path.join(REPO, "scripts", "image.py"))
image = importlib.util.module_from_spec(spec)
spec.loader.exec_module(image)

failures = []
STARTED = time.monotonic()


def check(name, ok, detail=""):
    """Counts one check and prints it, with its detail (cut to 300 characters)."""
    detail = str(detail) if detail != "" else ""
    if len(detail) > 300:
        detail = detail[:300] + "…"
    print("%s  %5.1fs  %s%s" % ("PASS" if ok else "FAIL", time.monotonic() - STARTED, name,
                                ("  (%s)" % detail) if detail else ""), flush=True)
    if not ok:
        failures.append(name)
    return ok


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def static_elf(data):
    """Whether DATA is a 64-bit ELF executable with no program interpreter (PT_INTERP) and no dynamic section
    (PT_DYNAMIC): the kernel runs it with nothing else from the image."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    kinds = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    return 3 not in kinds and 2 not in kinds


def read_layout(folder):
    """The layout's index, manifest, configuration and layer bytes, each blob checked against its descriptor."""
    with open(os.path.join(folder, "oci-layout")) as f:
        check("oci-layout says imageLayoutVersion 1.0.0", json.load(f).get("imageLayoutVersion") == "1.0.0")
    with open(os.path.join(folder, "index.json")) as f:
        index = json.load(f)

    def blob(descriptor, what):
        algorithm, _, digest = descriptor.get("digest", "").partition(":")
        path = os.path.join(folder, "blobs", algorithm, digest)
        with open(path, "rb") as f:
            data = f.read()
        check("%s: the blob's SHA-256 and size are its descriptor's" % what,
              algorithm == "sha256" and sha256_bytes(data) == digest and len(data) == descriptor.get("size"),
              "%s, %d bytes" % (descriptor.get("digest"), len(data)))
        return data

    manifests = index.get("manifests", [])
    check("index.json: schemaVersion 2 and one image manifest", index.get("schemaVersion") == 2 and len(manifests) == 1
          and manifests[0].get("mediaType") == "application/vnd.oci.image.manifest.v1+json", index)
    manifest = json.loads(blob(manifests[0], "manifest"))
    config_descriptor = manifest.get("config", {})
    layers = manifest.get("layers", [])
    check("the manifest: schemaVersion 2, an image configuration, one gzip layer",
          manifest.get("schemaVersion") == 2
          and config_descriptor.get("mediaType") == "application/vnd.oci.image.config.v1+json" and len(layers) == 1
          and layers[0].get("mediaType") == "application/vnd.oci.image.layer.v1.tar+gzip", manifest)
    config = json.loads(blob(config_descriptor, "configuration"))
    layer = blob(layers[0], "layer") if layers else b""
    return index, manifests[0], config, layer


def check_config(config, layer_tar, stage, version):
    """The configuration against the Containerfile's last stage."""
    check("the configuration: linux/amd64, one layer whose diff_id is the uncompressed layer's SHA-256",
          config.get("os") == "linux" and config.get("architecture") == "amd64"
          and config.get("rootfs", {}).get("type") == "layers"
          and config.get("rootfs", {}).get("diff_ids") == ["sha256:" + sha256_bytes(layer_tar)], config.get("rootfs"))
    runtime = config.get("config", {})
    check("ENTRYPOINT is the Containerfile's", runtime.get("Entrypoint") == stage["entrypoint"],
          "%s against %s" % (runtime.get("Entrypoint"), stage["entrypoint"]))
    check("CMD is the Containerfile's", runtime.get("Cmd") == stage["cmd"], "%s against %s" % (runtime.get("Cmd"),
                                                                                              stage["cmd"]))
    check("ENV is the Containerfile's", runtime.get("Env") == ["%s=%s" % pair for pair in stage["env"]],
          runtime.get("Env"))
    check("the labels are the Containerfile's, the version %s" % version,
          runtime.get("Labels") == dict(stage["labels"])
          and runtime.get("Labels", {}).get("org.opencontainers.image.version") == version, runtime.get("Labels"))
    history = config.get("history", [])
    check("one history entry, naming the Containerfile's steps", len(history) == 1
          and "/usr/local/bin/nestprobe" in history[0].get("created_by", ""), history)


def check_files(layer_tar, binary_bytes):
    """The layer's files: the binary, busybox and its links, the folders above them, nothing else. Returns the
    paths of its files and links, and the bytes its regular files hold."""
    members = {}
    with tarfile.open(fileobj=io.BytesIO(layer_tar)) as tar:
        for member in tar.getmembers():
            name = member.name[2:] if member.name.startswith("./") else member.name
            data = tar.extractfile(member).read() if member.isfile() else None
            members[name.rstrip("/")] = (member, data)
    nestprobe = members.get("usr/local/bin/nestprobe")
    check("/usr/local/bin/nestprobe is the binary, byte for byte, mode 0755",
          nestprobe is not None and nestprobe[1] == binary_bytes and nestprobe[0].mode & 0o777 == 0o755)
    busybox = members.get("bin/busybox")
    check("/bin/busybox is there", busybox is not None and busybox[1] is not None)
    files = [name for name, (member, _) in members.items() if member.isfile()]
    check("the regular files are nestprobe and busybox alone", sorted(files) == ["bin/busybox", "usr/local/bin/nestprobe"],
          files)
    check("both are static executables (no interpreter, no dynamic section)",
          all(static_elf(members[name][1]) for name in files if members[name][1] is not None), files)
    links = [(name, member.linkname) for name, (member, _) in members.items() if member.issym()]
    stray = [pair for pair in links if not pair[0].startswith("bin/") or pair[1] != "/bin/busybox"]
    check("every other entry is a busybox applet link in /bin (%d links) or a folder" % len(links),
          bool(links) and not stray and all(m.isfile() or m.issym() or m.isdir() for m, _ in members.values()), stray[:5])
    folders = sorted(name for name, (member, _) in members.items() if member.isdir())
    check("the folders are /bin, /usr, /usr/local and /usr/local/bin", [f for f in folders if f not in ("", ".")]
          == ["bin", "usr", "usr/local", "usr/local/bin"], folders)
    owners = {(member.uid, member.gid) for member, _ in members.values()}
    check("everything is owned by root", owners == {(0, 0)}, owners)
    paths = {name for name, (member, _) in members.items() if member.isfile() or member.issym()}
    return paths, sum(len(members[name][1] or b"") for name in files)


def check_manifests(paths, version):
    """The manifests' containers: the image the build names, and commands that are in it."""
    containers = []
    for path in sorted(os.listdir(DEPLOY)):
        if path.endswith(".yaml"):
            with open(os.path.join(DEPLOY, path)) as f:
                for doc in yaml.safe_load_all(f):
                    spec_ = (doc or {}).get("spec", {})
                    pod = spec_.get("template", {}).get("spec", spec_)
                    for container in pod.get("containers", []) or []:
                        containers.append((path, container))
    check("the manifests have containers", len(containers) >= 3, len(containers))
    for path, container in containers:
        command = (container.get("command") or [None])[0]
        check("%s: image nestprobe:%s (the tag `make image` builds)" % (path, version),
              container.get("image") == "nestprobe:%s" % version, container.get("image"))
        if command:
            check("%s: its command %s is in the image" % (path, command), command.lstrip("/") in paths)
    return containers


def check_refusals(scratch):
    """The builder refuses what it would not carry out faithfully: spoiled copies of the Containerfile."""
    with open(image.CONTAINERFILE) as f:
        text = f.read()
    spoiled = {
        "an instruction it does not know (USER)": text + "USER 65534\n",
        "a shell-form ENTRYPOINT": text.replace('ENTRYPOINT ["/usr/local/bin/nestprobe"]',
                                                "ENTRYPOINT /usr/local/bin/nestprobe"),
        "a last stage on a base image": text.replace("FROM scratch", "FROM docker.io/library/debian:12-slim"),
        "an ARG without a value": text.replace("ARG VERSION", "ARG VERSION\nARG OTHER\nLABEL x=$OTHER"),
    }
    for what, body in spoiled.items():
        path = os.path.join(scratch, "Containerfile.spoiled")
        with open(path, "w") as f:
            f.write(body)
        try:
            image.recipe({"VERSION": "0"}, path)
            refused = None
        except image.RecipeError as error:
            refused = str(error)
        check("the builder refuses %s" % what, refused is not None, refused or "accepted")
    _, stages = image.recipe({"VERSION": "0"})
    for what, stage, source in [
        ("a file of a package the stage does not install (/bin/ls)", stages["tools"], "/bin/ls"),
        ("a stage of another Debian release", dict(stages["tools"], base="docker.io/library/debian:11-slim"),
         "/bin/busybox"),
    ]:
        try:
            image.stage_file({"tools": stage}, "tools", source, 0)
            refused = None
        except image.RecipeError as error:
            refused = str(error)
        check("the builder refuses %s" % what, refused is not None, refused or "accepted")


def hybrid_cgroups():
    """Whether this machine mounts cgroup v1 with a cgroup v2 hierarchy at /sys/fs/cgroup/unified that holds
    controllers: the layout crun 1.8 refuses."""
    try:
        with open("/sys/fs/cgroup/unified/cgroup.controllers") as f:
            return f.read().strip()
    except OSError:
        return ""


class Runtime:
    """Runs the image's bundle with crun, one container at a time, its state in a scratch folder."""

    def __init__(self, bundle, state, hybrid):
        self.bundle, self.state, self.hybrid, self.count = bundle, state, hybrid, 0
        with open(os.path.join(bundle, "config.json")) as f:
            self.base = json.load(f)

    def run(self, args=None, env=None, mounts=(), devices=(), lock=False, timeout=120):
        """Runs the container with ARGS (the image's entrypoint and command when None); returns the process."""
        config = json.loads(json.dumps(self.base))
        config["process"]["terminal"] = False
        if args is not None:
            config["process"]["args"] = args
        config["process"]["env"] = [e for e in config["process"]["env"] if not e.startswith("TERM=")] + [
            "%s=%s" % pair for pair in (env or {}).items()]
        # As the manifests ask: readOnlyRootFilesystem, a writable /tmp.
        config["root"]["readonly"] = True
        config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]})
        for source, destination, readonly in mounts:
            config["mounts"].append({"destination": destination, "type": "bind", "source": source,
                                     "options": ["rbind", "ro" if readonly else "rw"]})
        for path in devices:
            info = os.stat(path)
            config["linux"].setdefault("devices", []).append(
                {"path": path, "type": "c", "major": os.major(info.st_rdev), "minor": os.minor(info.st_rdev),
                 "fileMode": stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid})
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(config, f)
        self.count += 1
        name = "nestprobe-image-test-%d-%d" % (os.getpid(), self.count)
        crun = ["crun", "--root", self.state, "--cgroup-manager=disabled", "run", "--bundle", self.bundle, name]
        if self.hybrid:
            crun = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount -t tmpfs -o size=4k nestprobe-image-test /sys/fs/cgroup/unified && exec "$@"', "sh"] + crun
        if lock:
            crun = ["flock", LOCK] + crun
        return subprocess.run(crun, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def first_line(done):
    return (done.stderr.strip().splitlines() or [""])[-1]


def test_runs(runtime, binary, version, scratch):
    """The image run with crun."""
    host_version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    done = runtime.run(["/usr/local/bin/nestprobe", "--version"])
    if not check("crun runs the image: nestprobe --version exits 0 and prints the binary's own version",
                 done.returncode == 0 and done.stdout == host_version
                 and done.stdout.startswith("nestprobe %s" % version),
                 "exit %d, %r, %s" % (done.returncode, done.stdout.strip(), first_line(done))):
        return
    done = runtime.run()
    check("the default command (ENTRYPOINT and CMD: diagnose) exits 0 with the diagnosis",
          done.returncode == 0 and "Level: " in done.stdout and "Can host VMs: " in done.stdout,
          "exit %d, %s" % (done.returncode, first_line(done)))
    results = os.path.join(scratch, "results")
    os.makedirs(results)
    done = runtime.run(["nestprobe", "diagnose", "--json"])
    check("diagnose --json exits 0", done.returncode == 0, "exit %d, %s" % (done.returncode, first_line(done)))
    with open(os.path.join(results, "container.diagnosis.json"), "w") as f:
        f.write(done.stdout)
    try:
        hosting = json.loads(done.stdout).get("hosting", {})
    except ValueError:
        hosting = {}
    check("without a device, the container's diagnosis finds no /dev/kvm", hosting.get("kvmDevice") == "absent",
          hosting.get("kvmDevice"))
    if os.path.exists("/dev/kvm") and stat.S_ISCHR(os.stat("/dev/kvm").st_mode):
        # diagnose opens /dev/kvm (one empty VM) where it is usable: under the lock, like every KVM user here.
        here = subprocess.run(["flock", LOCK, binary, "diagnose", "--json"], capture_output=True, text=True)
        done = runtime.run(["nestprobe", "diagnose", "--json"], devices=["/dev/kvm"], lock=True)
        try:
            inside = json.loads(done.stdout).get("hosting", {}).get("kvmDevice")
            outside = json.loads(here.stdout).get("hosting", {}).get("kvmDevice")
        except ValueError:
            inside = outside = None
        # The word before the mode and group: the image has no /etc/group to name the group by.
        inside, outside = (str(word).split(" (")[0] for word in (inside, outside))
        check("with /dev/kvm passed in, the container finds it %s, as this machine does" % outside,
              done.returncode == 0 and inside == outside and inside not in ("None", "absent"),
              "exit %d, %s against %s, %s" % (done.returncode, inside, outside, first_line(done)))
    else:
        print("SKIP  /dev/kvm passed into the container: this machine has no /dev/kvm", flush=True)
    done = runtime.run(["nestprobe", "diagnos"])
    check("a mistyped command exits 64 with the suggestion", done.returncode == 64 and "diagnose" in done.stderr,
          "exit %d, %s" % (done.returncode, first_line(done)))
    done = runtime.run(["/bin/sh", "-c", 'command -v nestprobe && test ! -e /etc/passwd && test -w /tmp '
                        '&& ! touch /new 2>/dev/null'])
    check("the manifests' /bin/sh runs: nestprobe on PATH, a read-only root, a writable /tmp",
          done.returncode == 0 and done.stdout.strip() == "/usr/local/bin/nestprobe",
          "exit %d, %r, %s" % (done.returncode, done.stdout.strip(), first_line(done)))
    test_job(runtime, scratch, results)
    validated = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "validate.py"),
                                os.path.join(REPO, "Reports", "schema"), results], capture_output=True, text=True)
    check("the container's JSON documents match Reports/schema", validated.returncode == 0,
          (validated.stdout + validated.stderr).strip().splitlines()[-1:] if validated.returncode else "")


def test_job(runtime, scratch, results):
    """The qualifying Job's script in the image, as its pod would run it (a shorter bench)."""
    with open(os.path.join(DEPLOY, "job.yaml")) as f:
        job = [d for d in yaml.safe_load_all(f) if d and d.get("kind") == "Job"][0]
    with open(os.path.join(DEPLOY, "policy-configmap.yaml")) as f:
        configmap = yaml.safe_load(f)
    container = job["spec"]["template"]["spec"]["containers"][0]
    policy = os.path.join(scratch, "policy")
    reports = os.path.join(scratch, "reports")
    os.makedirs(policy)
    os.makedirs(reports)
    for name, text in configmap["data"].items():
        with open(os.path.join(policy, name), "w") as f:
            f.write(text)
    env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
    env.update(NODE_NAME="node-a", JOB_COMPLETION_INDEX="0", NESTPROBE_BENCH_ARGS="--runs 1 --budget 5s")
    devices = ["/dev/kvm"] if os.path.exists("/dev/kvm") else []
    done = runtime.run(container["command"] + container["args"], env=env, devices=devices, lock=True,
                       mounts=[(policy, "/etc/nestprobe/policy", True), (reports, "/reports", False)])
    out = os.path.join(reports, "node-a")
    written = sorted(os.listdir(out)) if os.path.isdir(out) else []
    check("the Job's script exits 0 in the image and writes the node's reports",
          done.returncode == 0 and written == ["bench.json", "diagnosis.json", "host.json", "qualification.json",
                                               "qualification.junit.xml"],
          "exit %d, %s, %s" % (done.returncode, written, first_line(done)))
    if devices and os.path.isfile(os.path.join(out, "bench.json")):
        with open(os.path.join(out, "bench.json")) as f:
            statuses = [c.get("status") for c in json.load(f).get("cases", [])]
        check("with /dev/kvm the Job's bench measured guest cases in the container", statuses.count("ok") > 1,
              "%d of %d cases ok" % (statuses.count("ok"), len(statuses)))
    for name in ("bench", "diagnosis", "qualification"):
        if os.path.isfile(os.path.join(out, name + ".json")):
            shutil.copy(os.path.join(out, name + ".json"), os.path.join(results, "job.%s.json" % name))


def main():
    test()
    print("image-tests: %s" % ("all passed" if not failures else "%d failed: %s" % (
        len(failures), "; ".join(failures))), flush=True)
    sys.exit(1 if failures else 0)


def test():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", required=True, help="the static nestprobe (.build/dist/nestprobe-VERSION-linux-x86_64)")
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("image-tests: needs root (crun, unshare --mount)")
    binary = os.path.abspath(options.bin)
    if not os.path.isfile(binary):
        sys.exit("image-tests: no binary at %s (python3 scripts/dist.py makes it)" % options.bin)
    for tool in ("umoci", "crun", "unshare", "flock"):
        if shutil.which(tool) is None:
            sys.exit("image-tests: %s missing (./scripts/setup.sh --test installs it)" % tool)
    version = image.version()
    scratch = tempfile.mkdtemp(prefix="nestprobe-image-tests-")
    try:
        started = time.monotonic()
        try:
            first = image.build(binary, os.path.join(scratch, "one"), version)
            second = image.build(binary, os.path.join(scratch, "two"), version)
        except image.RecipeError as error:
            check("scripts/image.py builds the Containerfile", False, error)
            return
        built = time.monotonic() - started
        size = os.path.getsize(first)
        check("the image builds from the Containerfile, twice, into the same bytes (%.1f s for both)" % built,
              image.sha256_of(first) == image.sha256_of(second), "%s, %s" % (image.sha256_of(first)[:16],
                                                                           image.sha256_of(second)[:16]))
        verified = subprocess.run(["sha256sum", "-c", os.path.basename(first) + ".sha256"],
                                  cwd=os.path.dirname(first), capture_output=True, text=True)
        check("sha256sum -c accepts its checksum file", verified.returncode == 0, verified.stdout.strip())
        layout = os.path.join(scratch, "layout")
        with tarfile.open(first) as tar:
            tar.extractall(layout, filter="data")
        index, descriptor, config, layer = read_layout(layout)
        check("index.json names the image %s and docker.io/library/nestprobe:%s" % (version, version),
              descriptor.get("annotations", {}) == {"org.opencontainers.image.ref.name": version,
                                                    "io.containerd.image.name": "docker.io/library/nestprobe:"
                                                    + version}, descriptor.get("annotations"))
        layer_tar = gzip.decompress(layer)
        stage, _ = image.recipe({"VERSION": version})
        check_config(config, layer_tar, stage, version)
        with open(binary, "rb") as f:
            binary_bytes = f.read()
        paths, file_bytes = check_files(layer_tar, binary_bytes)
        check_manifests(paths, version)
        check_refusals(scratch)
        print("image-tests: the archive is %.1f MB (the layer %.1f MB gzip, %.1f MB unpacked; the binary %.1f MB)"
              % (size / 1e6, len(layer) / 1e6, len(layer_tar) / 1e6, len(binary_bytes) / 1e6), flush=True)
        check("the layer is its two executables and tar's headers (under 1 MB more)",
              len(layer_tar) < file_bytes + (1 << 20), "%d bytes, %d in files" % (len(layer_tar), file_bytes))
        bundle = os.path.join(scratch, "bundle")
        unpacked = subprocess.run(["umoci", "unpack", "--image", "%s:%s" % (layout, version), bundle],
                                  capture_output=True, text=True)
        if not check("umoci unpacks the archive into a runtime bundle", unpacked.returncode == 0,
                     unpacked.stderr.strip()):
            return
        hybrid = hybrid_cgroups()
        if hybrid:
            print("image-tests: cgroup v1 with the v2 controllers '%s' (hybrid): crun runs under a tmpfs over "
                  "/sys/fs/cgroup/unified in a private mount namespace" % hybrid, flush=True)
        state = os.path.join(scratch, "crun-state")
        os.makedirs(state)
        test_runs(Runtime(bundle, state, hybrid), binary, version, scratch)
        print("image-tests: %.1f s in all" % (time.monotonic() - started), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
