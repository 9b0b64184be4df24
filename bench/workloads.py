"""Workloads for bench/bench_tracer.py: each takes a scale and returns a
number, so its work cannot be skipped.

Three kinds:
- the hard cases for a tracer: "alloc" (json, dicts, strings; at most
  2,000 documents live), "docs" (the same documents, all kept live: about
  29 blocks each), "grow" (every allocation a new peak) and "churn" (a big
  live heap while short-lived objects come and go);
- "stdlib": a realistic script (ast, difflib, re, csv);
- "raytrace", "deepcopy" and "pickle": written for this bench after
  pyperformance's benchmarks of those names (same kind of work: many small
  short-lived objects, little live memory), self-contained so the bench
  needs nothing installed. They are not pyperformance's code, so their
  absolute times are not comparable with its results; the ratios are
  what the bench reports.
"""
import copy
import io
import json
import math
import os
import pickle


def work_alloc(scale):
    """Allocation-heavy: json, dicts, strings, lists."""
    keep = []
    for i in range(scale):
        doc = {"id": i, "name": "item-%d" % i, "tags": ["t%d" % (i % 7)] * 5,
               "values": list(range(i % 50)), "nested": {"a": [1.5, 2.5],
                                                          "b": str(i) * 3}}
        text = json.dumps(doc)
        back = json.loads(text)
        words = text.replace('"', " ").split()
        counts = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        if i % 10 == 0:
            keep.append((back, counts))
        if len(keep) > 2000:
            del keep[:1000]
    return len(keep)


def work_docs(scale):
    """alloc's documents, every one kept live: a heap of about 29 * scale
    small blocks that grows while it is parsed."""
    keep = []
    for i in range(scale):
        doc = {"id": i, "name": "item-%d" % i, "tags": ["t%d" % (i % 7)] * 5,
               "values": list(range(i % 50)), "nested": {"a": [1.5, 2.5],
                                                          "b": str(i) * 3}}
        back = json.loads(json.dumps(doc))
        counts = {}
        for w in back["tags"] + back["name"].split("-"):
            counts[w] = counts.get(w, 0) + 1
        keep.append((back, counts))
    return len(keep)


def work_stdlib(scale):
    """Realistic: parse, compile and diff stdlib sources, regexes, csv."""
    import ast
    import csv
    import difflib
    import re
    import textwrap
    sources = []
    for name in ("json/decoder.py", "textwrap.py", "csv.py", "difflib.py",
                 "argparse.py", "dataclasses.py"):
        path = os.path.join(os.path.dirname(os.__file__), name)
        with open(path) as f:
            sources.append(f.read())
    total = 0
    for i in range(scale):
        src = sources[i % len(sources)]
        tree = ast.parse(src)
        total += sum(1 for _ in ast.walk(tree))
        compile(tree, "<bench>", "exec")
        lines = src.splitlines()[:300]
        total += len(list(difflib.unified_diff(lines, lines[::2])))
        total += len(re.findall(r"\bdef (\w+)", src))
        out = io.StringIO()
        w = csv.writer(out)
        for line in lines[:200]:
            w.writerow(textwrap.wrap(line, 20))
        total += len(out.getvalue())
    return total


def work_grow(scale):
    """Growth by small blocks, then release: a new peak at every step."""
    total = 0
    for _ in range(3):
        keep = []
        for i in range(scale):
            keep.append({"id": i, "name": "row-%d" % i, "v": [i] * (i % 5)})
        total += len(keep)
        del keep
    return total


def work_churn(scale):
    """scale tuples stay live (2 * scale blocks: each tuple and its int)
    while 2 * scale short-lived dicts come and go: every allocation and
    free touches a big trace table."""
    live = [(i, "v") for i in range(scale)]
    total = 0
    for i in range(2 * scale):
        tmp = {"k": i}
        total += len(tmp)
    return total + len(live)


# --- raytrace: a small ray tracer; every vector operation makes a new
# object, as in pyperformance's raytrace.

class Vec:
    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z

    def __add__(self, o):
        return Vec(self.x + o.x, self.y + o.y, self.z + o.z)

    def __sub__(self, o):
        return Vec(self.x - o.x, self.y - o.y, self.z - o.z)

    def scale(self, k):
        return Vec(self.x * k, self.y * k, self.z * k)

    def dot(self, o):
        return self.x * o.x + self.y * o.y + self.z * o.z

    def norm(self):
        return self.scale(1.0 / math.sqrt(self.dot(self)))

    def reflect(self, n):
        return self - n.scale(2 * self.dot(n))


class Ray:
    def __init__(self, origin, direction):
        self.origin = origin
        self.direction = direction.norm()

    def at(self, t):
        return self.origin + self.direction.scale(t)


class Sphere:
    def __init__(self, centre, radius, colour, mirror):
        self.centre = centre
        self.radius = radius
        self.colour = colour
        self.mirror = mirror

    def hit(self, ray):
        oc = ray.origin - self.centre
        b = oc.dot(ray.direction)
        c = oc.dot(oc) - self.radius * self.radius
        disc = b * b - c
        if disc < 0:
            return None
        t = -b - math.sqrt(disc)
        return t if t > 1e-6 else None

    def normal(self, p):
        return (p - self.centre).norm()

    def colour_at(self, p):
        return self.colour


class Floor:
    """The plane y = 0, a checkerboard."""
    mirror = 0.3

    def hit(self, ray):
        if abs(ray.direction.y) < 1e-9:
            return None
        t = -ray.origin.y / ray.direction.y
        return t if t > 1e-6 else None

    def normal(self, p):
        return Vec(0.0, 1.0, 0.0)

    def colour_at(self, p):
        if (math.floor(p.x) + math.floor(p.z)) % 2:
            return Vec(0.9, 0.9, 0.9)
        return Vec(0.1, 0.1, 0.1)


def _trace(scene, light, ray, depth):
    best, best_t = None, None
    for obj in scene:
        t = obj.hit(ray)
        if t is not None and (best_t is None or t < best_t):
            best, best_t = obj, t
    if best is None:
        return Vec(0.2, 0.3, 0.5)
    p = ray.at(best_t)
    n = best.normal(p)
    to_light = (light - p).norm()
    shadow = Ray(p, to_light)
    lit = all(obj.hit(shadow) is None for obj in scene)
    diffuse = max(0.0, n.dot(to_light)) if lit else 0.0
    colour = best.colour_at(p).scale(0.1 + 0.9 * diffuse)
    if depth > 0 and best.mirror > 0:
        bounce = _trace(scene, light, Ray(p, ray.direction.reflect(n)),
                        depth - 1)
        colour = colour.scale(1 - best.mirror) + bounce.scale(best.mirror)
    return colour


def work_raytrace(scale):
    """Renders a scale x scale picture of three spheres on a floor, with
    shadows and two reflections."""
    scene = [Sphere(Vec(0.0, 1.0, 5.0), 1.0, Vec(0.9, 0.2, 0.2), 0.5),
             Sphere(Vec(-2.0, 0.6, 6.0), 0.6, Vec(0.2, 0.9, 0.2), 0.2),
             Sphere(Vec(2.0, 0.8, 4.5), 0.8, Vec(0.2, 0.2, 0.9), 0.7),
             Floor()]
    light = Vec(-5.0, 8.0, -2.0)
    eye = Vec(0.0, 1.5, -1.0)
    canvas = bytearray(scale * scale * 3)
    for j in range(scale):
        for i in range(scale):
            d = Vec((i / scale) * 2 - 1, 1 - (j / scale) * 2, 1.5)
            c = _trace(scene, light, Ray(eye, d), 2)
            k = (j * scale + i) * 3
            canvas[k] = min(255, int(c.x * 255))
            canvas[k + 1] = min(255, int(c.y * 255))
            canvas[k + 2] = min(255, int(c.z * 255))
    return sum(canvas)


# --- deepcopy: copy.deepcopy of nested containers and an instance, as in
# pyperformance's deepcopy.

class _Record:
    def __init__(self, n):
        self.name = "record-%d" % n
        self.values = [n, n + 1.5, str(n)]
        self.meta = {"created": (2026, 11, n % 28 + 1), "flags": {"a", "b"}}


def _deepcopy_data():
    shared = ["shared", 1, 2.0]
    return {
        "numbers": list(range(100)),
        "strings": ["s%d" % i for i in range(50)],
        "nested": [{"k": i, "v": [i, str(i), (i, i * 2)]} for i in range(20)],
        "tuples": tuple((i, "t") for i in range(20)),
        "records": [_Record(i) for i in range(10)],
        "shared": [shared, shared],      # the memo keeps one copy
        "bytes": b"x" * 100,
    }


def work_deepcopy(scale):
    """scale deep copies of a dict of about 600 objects."""
    data = _deepcopy_data()
    total = 0
    for _ in range(scale):
        total += len(copy.deepcopy(data)["numbers"])
    return total


# --- pickle: pickle's pure-Python pickler and unpickler on mixed data, as
# in pyperformance's pickle_pure_python.

def _pickle_data():
    return [
        {"id": i, "name": "user%d" % i, "score": i * 0.25,
         "tags": ["a", "b", "c"][: i % 4], "pos": (i, -i, i * 3),
         "text": "\u00e9t\u00e9 %d" % i, "blob": b"\x00\x01" * (i % 10),
         "ok": i % 2 == 0, "none": None, "big": 2 ** 70 + i}
        for i in range(40)]


def work_pickle(scale):
    """scale round trips of about 40 records through pickle._Pickler and
    pickle._Unpickler (the pure-Python classes, not the C accelerator)."""
    data = _pickle_data()
    total = 0
    for _ in range(scale):
        buf = io.BytesIO()
        pickle._Pickler(buf, protocol=4).dump(data)
        raw = buf.getvalue()
        back = pickle._Unpickler(io.BytesIO(raw)).load()
        total += len(raw) + len(back)
    return total


WORKLOADS = {"alloc": work_alloc, "docs": work_docs, "stdlib": work_stdlib, "grow": work_grow,
             "churn": work_churn, "raytrace": work_raytrace,
             "deepcopy": work_deepcopy, "pickle": work_pickle}
