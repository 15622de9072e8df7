#!/usr/bin/env python3
"""The Kubernetes manifests in deploy/kubernetes/, checked offline (no cluster is available here).

Every document of every manifest is validated, strictly (no unknown field), against the Kubernetes schemas
that kubernetes-validate ships, for each Kubernetes version it bundles; a manifest spoiled on purpose must
be rejected, so the validation is known to be active. Then what the schemas cannot see: the policy
ConfigMap holds Reports/policies' files unchanged and each is a valid policy; the Job is indexed, keeps one
pod per node, and names a policy the ConfigMap has; the DaemonSet tolerates every taint and renders
OpenMetrics into the textfile folder; the containers' shell scripts parse. With --bin, the Job's and the
DaemonSet's scripts also run here once each, with that binary as `nestprobe` (their folders moved into a
scratch folder, the bench under /tmp/nestprobe-kvm.lock), and their outputs are checked.
Prints 'N passed, M failed'; exit 1 on any failure.
Usage: kubernetes-tests.py [--bin .build/release/nestprobe]
"""
import argparse
import copy
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import kubernetes_validate
import yaml
from referencing import Registry, Resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY = os.path.join(ROOT, "deploy", "kubernetes")
SCHEMAS = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")

passed = failed = 0


def check(ok, what, detail=""):
    """Counts one assertion and prints it when it fails."""
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s%s" % (what, (": " + str(detail)) if detail else ""))


def versions():
    """The Kubernetes versions whose strict schemas kubernetes-validate ships (v1.25.0-local-strict …)."""
    found = []
    for path in glob.glob(os.path.join(SCHEMAS, "v*-local-strict")):
        found.append(os.path.basename(path)[1:].split("-")[0])
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def rejects(doc, version):
    """Whether the strict validation rejects the document."""
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError:
        return True
    return False


def validator_of(name):
    """A validator of Reports/schema/NAME with the schemas it refers to."""
    registry = Registry()
    docs = {}
    for path in glob.glob(os.path.join(ROOT, "Reports", "schema", "*.schema.json")):
        with open(path) as f:
            doc = json.load(f)
        docs[os.path.basename(path)] = doc
        resource = Resource.from_contents(doc)
        registry = registry.with_resources([(doc["$id"], resource), (os.path.basename(path), resource)])
    return jsonschema.Draft202012Validator(docs[name], registry=registry)


def script(container):
    """The shell script a container runs (command ["/bin/sh", "-c"], the script its one argument)."""
    if container.get("command") != ["/bin/sh", "-c"] or len(container.get("args", [])) != 1:
        return None
    return container["args"][0]


def run_script(text, moves, env, binary, scratch):
    """Runs a container's script here: its folders moved into scratch, `nestprobe` the binary under the KVM lock."""
    for old, new in moves.items():
        text = text.replace(old, new)
    bindir = os.path.join(scratch, "bin")
    os.makedirs(bindir, exist_ok=True)
    wrapper = os.path.join(bindir, "nestprobe")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec flock /tmp/nestprobe-kvm.lock %s "$@"\n' % binary)
    os.chmod(wrapper, 0o755)
    # The DaemonSet's loop ends at its first sleep: `sleep` here stops the script.
    with open(os.path.join(bindir, "sleep"), "w") as f:
        f.write("#!/bin/sh\nkill -TERM $PPID\n")
    os.chmod(os.path.join(bindir, "sleep"), 0o755)
    full = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"], **env)
    return subprocess.run(["sh", "-c", text], env=full, capture_output=True, text=True, timeout=300)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", help="run the Job's and the DaemonSet's scripts once with this binary")
    args = parser.parse_args()

    manifests = sorted(glob.glob(os.path.join(DEPLOY, "*.yaml")))
    check(len(manifests) >= 5, "deploy/kubernetes holds the manifests", manifests)
    objects = {}
    vs = versions()
    check(len(vs) >= 2, "kubernetes-validate ships strict schemas", vs)
    for path in manifests:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in docs:
            objects[(doc.get("kind"), doc.get("metadata", {}).get("name"))] = doc
            for version in vs:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                    check(True, "")
                except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
                    check(False, "%s: %s %s valid for Kubernetes %s" % (
                        os.path.basename(path), doc.get("kind"), doc.get("metadata", {}).get("name"), version),
                        str(error).splitlines()[0])
    print("kubernetes: %d documents in %d manifests validated against Kubernetes %s to %s" % (
        len(objects), len(manifests), vs[0] if vs else "?", vs[-1] if vs else "?"))

    job = objects.get(("Job", "nestprobe-qualify"))
    daemonset = objects.get(("DaemonSet", "nestprobe-node"))
    configmap = objects.get(("ConfigMap", "nestprobe-policy"))
    check(job and daemonset and configmap and ("Namespace", "nestprobe") in objects
          and ("PersistentVolumeClaim", "nestprobe-reports") in objects
          and ("Pod", "nestprobe-reports-reader") in objects, "every object is there", sorted(objects, key=str))
    if not (job and daemonset and configmap):
        print("kubernetes: %d passed, %d failed" % (passed, failed))
        return 1

    # A spoiled copy of each kind must fail: a number where a string belongs, a field no schema has.
    latest = vs[-1]
    spoiled = copy.deepcopy(job)
    spoiled["spec"]["completions"] = "three"
    check(rejects(spoiled, latest), "a Job with completions: \"three\" is rejected")
    spoiled = copy.deepcopy(daemonset)
    spoiled["spec"]["template"]["spec"]["containers"][0]["hostDevice"] = "/dev/kvm"
    check(rejects(spoiled, latest), "a DaemonSet container with an unknown field is rejected")

    # The ConfigMap's policies are the repository's, and valid ones.
    validator = validator_of("policy-v1.schema.json")
    for key, text in configmap.get("data", {}).items():
        policy = json.loads(text)
        errors = list(validator.iter_errors(policy))
        check(not errors, "ConfigMap %s is a valid policy" % key, errors[:1])
        source = os.path.join(ROOT, "Reports", "policies", key)
        check(os.path.exists(source) and json.load(open(source)) == policy,
              "ConfigMap %s is Reports/policies/%s unchanged" % (key, key))

    # The Job: indexed, one pod per node, a policy the ConfigMap has, /dev/kvm asked for.
    spec = job["spec"]
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    check(spec.get("completionMode") == "Indexed", "the Job is indexed")
    terms = pod.get("affinity", {}).get("podAntiAffinity", {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution", [])
    labels = spec["template"]["metadata"]["labels"]
    check(any(t.get("topologyKey") == "kubernetes.io/hostname"
              and all(labels.get(k) == v for k, v in t["labelSelector"]["matchLabels"].items()) for t in terms),
          "the Job's pods repel each other per node")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    check(env.get("NESTPROBE_POLICY", "") + ".json" in configmap["data"], "the Job's policy is in the ConfigMap")
    check(any(v.get("configMap", {}).get("name") == "nestprobe-policy" for v in pod["volumes"]),
          "the Job mounts the policy ConfigMap")
    check("devices.kubevirt.io/kvm" in container["resources"].get("limits", {}), "the Job asks for /dev/kvm")

    # The DaemonSet: every node, metrics into the textfile folder.
    dpod = daemonset["spec"]["template"]["spec"]
    dcontainer = dpod["containers"][0]
    check({"operator": "Exists"} in dpod.get("tolerations", []), "the DaemonSet tolerates every taint")
    check(any(v.get("hostPath", {}).get("path", "").endswith("textfile_collector") for v in dpod["volumes"]),
          "the DaemonSet mounts the textfile folder")
    dtext, jtext = script(dcontainer), script(container)
    check(dtext and "--format openmetrics" in dtext and "-o /textfile/nestprobe.prom" in dtext,
          "the DaemonSet renders OpenMetrics into the textfile folder")
    for name, text in (("DaemonSet", dtext), ("Job", jtext)):
        parse = subprocess.run(["sh", "-n", "-c", text or ""], capture_output=True, text=True)
        check(text and parse.returncode == 0, "the %s's script parses" % name, parse.stderr)

    if args.bin:
        binary = os.path.abspath(args.bin)
        scratch = tempfile.mkdtemp(prefix="np15-k8s.")
        try:
            policies = os.path.join(scratch, "policy")
            os.makedirs(policies)
            for key, text in configmap["data"].items():
                with open(os.path.join(policies, key), "w") as f:
                    f.write(text)
            reports = os.path.join(scratch, "reports")
            os.makedirs(reports)
            jenv = {k: v for k, v in env.items() if v is not None}
            jenv.update(NODE_NAME="node-a", JOB_COMPLETION_INDEX="0",
                        NESTPROBE_BENCH_ARGS="--cases cpuid --runs 1 --budget 5s")
            run = run_script(jtext, {"/etc/nestprobe/policy": policies, "/reports": reports}, jenv, binary, scratch)
            check(run.returncode == 0, "the Job's script runs here (exit 0)", run.stderr[-500:])
            node = os.path.join(reports, "node-a")
            for name in ("host.json", "diagnosis.json", "bench.json", "qualification.json",
                         "qualification.junit.xml"):
                check(os.path.isfile(os.path.join(node, name)), "the Job's script writes %s" % name)
            host = json.load(open(os.path.join(node, "host.json"))) if os.path.isfile(
                os.path.join(node, "host.json")) else {}
            check(host.get("host") == "node-a" and host.get("label") == env.get("NESTPROBE_LABEL")
                  and host.get("index") == 0, "the Job's host.json names the node and its label", host)
            errors = list(validator_of("fleet-host-v1.schema.json").iter_errors(host))
            check(not errors, "the Job's host.json is valid against fleet-host-v1", errors[:1])
            check('"qualified"' in run.stdout, "the Job's log carries the qualification")

            state = os.path.join(scratch, "var-lib-nestprobe")
            textfile = os.path.join(scratch, "textfile")
            os.makedirs(state)
            os.makedirs(textfile)
            denv = {e["name"]: e["value"] for e in dcontainer.get("env", [])}
            denv["NESTPROBE_BENCH_ARGS"] = "--cases cpuid --runs 1 --budget 5s"
            run = run_script(dtext, {"/var/lib/nestprobe": state, "/textfile": textfile}, denv, binary, scratch)
            prom = os.path.join(textfile, "nestprobe.prom")
            text = open(prom).read() if os.path.exists(prom) else ""
            check("nestprobe_level_info{" in text and text.rstrip().endswith("# EOF"),
                  "the DaemonSet's script writes the metrics", run.stderr[-500:])
            check(os.path.isfile(os.path.join(state, "diagnosis.json")), "the DaemonSet's script writes a diagnosis")
            promtool = shutil.which("promtool")
            if promtool and text:
                lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
                check(lint.returncode == 0, "promtool accepts the DaemonSet's metrics", lint.stdout + lint.stderr)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    print("kubernetes: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
