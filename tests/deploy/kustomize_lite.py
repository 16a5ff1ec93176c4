"""A small Kustomize in Python, for the tests: enough of it to build deploy/k8s.

Supported (and nothing else, loudly): `resources` (files and directories),
`configMapGenerator` (files, literals, namespace; with
`generatorOptions.disableNameSuffixHash: true` and labels), `patches` (a file or
inline; strategic merge by kind/name, or JSON 6902 with a `target` selecting by
kind/name/namespace/labelSelector), `images` and `replicas`. When `kubectl` is
on the machine, tests/deploy also checks this gives what `kubectl kustomize` gives.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

SUPPORTED_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "configMapGenerator",
    "generatorOptions",
    "patches",
    "images",
    "replicas",
}
# list items merged by this key in a strategic merge patch (the keys Kubernetes uses)
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}


class KustomizeError(Exception):
    pass


def load_docs(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def build(directory: str | Path) -> list[Doc]:
    d = Path(directory)
    kfile = d / "kustomization.yaml"
    if not kfile.is_file():
        raise KustomizeError(f"no kustomization.yaml in {d}")
    k = yaml.safe_load(kfile.read_text(encoding="utf-8")) or {}
    unknown = set(k) - SUPPORTED_KEYS
    if unknown:
        raise KustomizeError(f"{kfile}: kustomize_lite does not support {sorted(unknown)}")

    docs: list[Doc] = []
    for r in k.get("resources", []):
        p = (d / r).resolve()
        if not p.exists():
            raise KustomizeError(f"{kfile}: resource {r} not found")
        docs += build(p) if p.is_dir() else load_docs(p)

    opts = k.get("generatorOptions", {})
    for g in k.get("configMapGenerator", []):
        docs.append(_config_map(d, g, opts))

    for p in k.get("patches", []):
        _apply_patch(d, docs, p)
    for img in k.get("images", []):
        for doc in docs:
            _set_image(doc, img)
    for rep in k.get("replicas", []):
        hits = [
            doc
            for doc in docs
            if doc.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet")
            and doc["metadata"]["name"] == rep["name"]
        ]
        if not hits:
            raise KustomizeError(f"{kfile}: replicas for unknown {rep['name']}")
        for doc in hits:
            doc["spec"]["replicas"] = rep["count"]
    _check_unique(docs, d)
    return docs


def _check_unique(docs: list[Doc], d: Path) -> None:
    seen: set[tuple[str, str, str]] = set()
    for doc in docs:
        key = identity(doc)
        if key in seen:
            raise KustomizeError(f"{d}: {key} defined twice")
        seen.add(key)


def identity(doc: Doc) -> tuple[str, str, str]:
    md = doc.get("metadata", {})
    return (doc["kind"], md.get("namespace", ""), md["name"])


def _config_map(d: Path, g: Doc, opts: Doc) -> Doc:
    if not opts.get("disableNameSuffixHash") and not g.get("options", {}).get(
        "disableNameSuffixHash"
    ):
        raise KustomizeError("kustomize_lite builds ConfigMaps only without a name hash")
    data: dict[str, str] = {}
    for f in g.get("files", []):
        key, sep, name = f.partition("=")
        if not sep:
            key, name = Path(f).name, f
        data[key] = (d / name).read_text(encoding="utf-8")
    for lit in g.get("literals", []):
        key, _, value = lit.partition("=")
        data[key] = value
    md: Doc = {"name": g["name"]}
    if g.get("namespace"):
        md["namespace"] = g["namespace"]
    labels = {**opts.get("labels", {}), **g.get("options", {}).get("labels", {})}
    if labels:
        md["labels"] = labels
    cm: Doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md}
    if data:
        cm["data"] = data
    return cm


# --- patches ---------------------------------------------------------------------------


def _matches(doc: Doc, target: Doc) -> bool:
    md = doc.get("metadata", {})
    if "kind" in target and doc.get("kind") != target["kind"]:
        return False
    if "name" in target and md.get("name") != target["name"]:
        return False
    if "namespace" in target and md.get("namespace") != target["namespace"]:
        return False
    if "labelSelector" in target:
        labels = md.get("labels", {})
        for term in target["labelSelector"].split(","):
            k, _, v = term.partition("=")
            if labels.get(k.strip()) != v.strip():
                return False
    return True


def _apply_patch(d: Path, docs: list[Doc], p: Doc) -> None:
    if "path" in p:
        patches: list[Any] = load_docs(d / p["path"])
        if len(patches) == 1 and isinstance(patches[0], list):
            patches = [patches[0]]
    else:
        loaded = list(yaml.safe_load_all(p["patch"]))
        patches = [x for x in loaded if x]
    target = p.get("target")
    for patch in patches:
        if isinstance(patch, list):  # JSON 6902
            if not target:
                raise KustomizeError("a JSON 6902 patch needs a target")
            hits = [doc for doc in docs if _matches(doc, target)]
            if not hits:
                raise KustomizeError(f"patch target {target} matches nothing")
            for doc in hits:
                for op in patch:
                    _json6902(doc, op)
        else:  # strategic merge
            sel = target or {
                "kind": patch["kind"],
                "name": patch["metadata"]["name"],
                **(
                    {"namespace": patch["metadata"]["namespace"]}
                    if "namespace" in patch["metadata"]
                    else {}
                ),
            }
            hits = [doc for doc in docs if _matches(doc, sel)]
            if not hits:
                raise KustomizeError(f"patch target {sel} matches nothing")
            for doc in hits:
                merged = strategic_merge(doc, patch)
                doc.clear()
                doc.update(merged)


def strategic_merge(base: Any, patch: Any, field: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(patch, list) and field in MERGE_KEYS:
        # like kustomize (kyaml): the patch's items first, in its order, merged with the
        # base item of the same key; then the base items the patch does not name
        key = MERGE_KEYS[field]
        by_key = {x.get(key): x for x in base if isinstance(x, dict)}
        named = {item.get(key) for item in patch}
        out_list = [
            strategic_merge(by_key[item.get(key)], item, "")
            if item.get(key) in by_key
            else copy.deepcopy(item)
            for item in patch
        ]
        out_list += [copy.deepcopy(x) for x in base if x.get(key) not in named]
        return out_list
    return copy.deepcopy(patch)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _json6902(doc: Doc, op: Doc) -> None:
    parts = _pointer(op["path"])
    parent: Any = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    last = parts[-1]
    kind = op["op"]
    if isinstance(parent, list):
        idx = len(parent) if last == "-" else int(last)
        if kind == "add":
            parent.insert(idx, copy.deepcopy(op["value"]))
        elif kind == "replace":
            parent[idx] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del parent[idx]
        else:
            raise KustomizeError(f"unsupported op {kind}")
        return
    if kind in ("replace", "remove") and last not in parent:
        raise KustomizeError(f"{op['path']} does not exist in {identity(doc)}")
    if kind in ("add", "replace"):
        parent[last] = copy.deepcopy(op["value"])
    elif kind == "remove":
        del parent[last]
    else:
        raise KustomizeError(f"unsupported op {kind}")


# --- images ----------------------------------------------------------------------------


def pod_specs(doc: Doc) -> list[Doc]:
    kind = doc.get("kind")
    spec = doc.get("spec", {})
    if kind == "Pod":
        return [spec]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return [spec.get("template", {}).get("spec", {})]
    if kind == "CronJob":
        return [spec["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def containers(doc: Doc) -> list[Doc]:
    out: list[Doc] = []
    for ps in pod_specs(doc):
        out += ps.get("initContainers", []) + ps.get("containers", [])
    return out


def _image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def _set_image(doc: Doc, img: Doc) -> None:
    for c in containers(doc):
        image = c.get("image", "")
        if _image_name(image) != img["name"]:
            continue
        name = img.get("newName", img["name"])
        rest = image[len(_image_name(image)) :]
        if "digest" in img:
            c["image"] = f"{name}@{img['digest']}"
        elif "newTag" in img:
            c["image"] = f"{name}:{img['newTag']}"
        else:
            c["image"] = name + rest
