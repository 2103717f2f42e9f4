"""dev11: the dev split about SCENES, not wording (plain sentences, new layouts).

Its scene generator is written apart from dev_grammar._place_objects, to find where perception and
grounding fail on layouts that generator never makes: 3-8 objects; a uniform scatter, a loose cluster
grown object by object, a line across the table (along y), a line in depth (along x), objects at the
edges of the reachable area (the part of the camera's view nearest its borders); surface gaps from
2.5 cm (the other generator keeps 5 cm); sizes from each kind's FULL `size_ranges`, extremes included
(4 cm and 16 cm cups, flat boxes, big bowls and plates); boxes turned at any yaw; same-kind and
same-colour distractors, so only the stated attribute or ordering decides.

Every scene is checked against the camera (CameraSpec, intrinsics from its field of view): each
object's hull (top and bottom outline) projects inside the 640x480 image with a margin, and projected
boxes overlap at most OVERLAP_NORMAL of the farther object's box, or OVERLAP_CLUTTER in the cases drawn
as cluttered (their category carries the suffix "_overlap"). Every object to pick fits the gripper
(GraspConfig), every place target holds it, and every centre is in the scene loader's reachable area.

Sentences are plain ("pick up the red cup and put it in the bowl", "the second box from the left",
"the cup closest to the robot", "the tallest cup"); five execute categories in equal shares
(attribute, depth, ordinal, side, size) and about 18 % must-refuse (absent colour, absent kind,
ambiguity, negation). The expected answers come from the geometry with perception's definitions:
left/right by dev_grammar._lr, distance by dev_grammar._dist, size by core.marks.extent_of; every
execute case has a clear margin (0.05 normalised image x, 4 cm, 15 %), else it is redrawn.

`dev11_cases(part, n)` gives the cases of part "tune" or "check" (SEEDS); `dev11_notes(part, n)` says,
per case id, what is special about its scene (layout, gaps, overlap, edge margin, extreme sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spatialbot_ros.core.frame import CameraIntrinsics
from spatialbot_ros.core.grasp import GraspConfig
from spatialbot_ros.core.marks import extent_of
from spatialbot_ros.core.object_kinds import default_registry
from spatialbot_ros.core.transforms import invert, transform_points
from spatialbot_ros.sim.dev_grammar import DevCase, _dist, _lr
from spatialbot_ros.sim.scene import TABLE_AREA, CameraSpec, ObjectSpec

SEEDS = {"tune": 110011, "check": 771177}
CATS11 = ("attribute", "depth", "ordinal", "side", "size")
REFUSALS11 = ("absent_colour", "absent_kind", "ambiguous", "negation")
REFUSE_SHARE = 0.18
CHROMATIC = ("red", "orange", "yellow", "green", "blue", "purple")
GRASPABLE = ("cup", "box", "sphere")
NOUN = {"cup": "cup", "box": "box", "sphere": "ball", "plate": "plate", "bowl": "bowl"}
PLURAL = {"cup": "cups", "box": "boxes", "sphere": "balls"}
LAYOUTS = ("scatter", "cluster", "line_y", "line_x", "edge")
# layouts in which each category can be decided (a line in depth has no left-to-right order)
CAT_LAYOUTS = {"attribute": LAYOUTS, "size": LAYOUTS, "depth": ("scatter", "cluster", "line_x", "edge"),
               "side": ("scatter", "cluster", "line_y", "edge"), "ordinal": ("scatter", "cluster", "line_y")}
MIN_GAP_M, MAX_GAP_M = 0.025, 0.06           # surface to surface
# object centres: inside the scene loader's TABLE_AREA with a little room
_TABLE: dict[str, Any] = TABLE_AREA
AREA_X = (float(_TABLE["x"][0]) + 0.02, float(_TABLE["x"][1]) - 0.02)                  # 0.30-0.76
AREA_Y = float(_TABLE["y"][1]) - 0.02                                                  # |y| <= 0.38
AREA_R = (float(_TABLE["min_radius"]) + 0.02, float(_TABLE["max_radius"]) - 0.02)      # 0.30-0.78 from the base
# (x, y) bands: the front edge, the near corners (closest to the image's sides), the back edge, the sides
EDGE_BANDS = (((0.70, 0.76), (-0.38, 0.38)), ((0.66, 0.76), (0.28, 0.38)), ((0.66, 0.76), (-0.38, -0.28)),
              ((0.30, 0.35), (-0.30, 0.30)), ((0.36, 0.76), (0.31, 0.38)), ((0.36, 0.76), (-0.38, -0.31)))
IMAGE_MARGIN_PX = 4.0
OVERLAP_NORMAL, OVERLAP_CLUTTER = 0.12, 0.30
CLUTTER_SHARE = 0.2
EXTREME_SHARE = 0.35                          # a size key drawn within 8 % of an end of its range
LR_GAP, DEPTH_GAP_M, SIZE_REL = 0.05, 0.04, 0.15
PICK_PLACE = ("pick up the {P} and put it {L}", "put the {P} {L}", "place the {P} {L}", "move the {P} {L}")
PICK_ONLY = ("pick up the {P}", "grab the {P}", "pick the {P} up")
ROBOT_VIEW = ("from the robot's view", "from the robot's point of view")
SIZE_WORDS = {("size", "max"): ("biggest", "largest"), ("size", "min"): ("smallest",),
              ("height", "max"): ("tallest",), ("height", "min"): ("shortest",), ("width", "max"): ("widest",)}
SIZE_SELECTORS = {"cup": tuple(SIZE_WORDS), "box": tuple(SIZE_WORDS), "sphere": (("size", "max"), ("size", "min"))}


@dataclass
class _Proto:
    kind: str
    colour: str
    size: dict
    role: str                       # "group" (the candidates), "other" (distractor) or "support"
    yaw: float = 0.0
    name: str = ""


@dataclass
class _Layout:
    objs: list[ObjectSpec]
    style: str
    max_overlap: float = 0.0
    overlap_pair: tuple[str, str] = ("", "")
    min_margin_px: float = 0.0
    gaps: dict[str, float] = field(default_factory=dict)    # name -> smallest surface gap to another object


class _Camera:
    def __init__(self) -> None:
        cam = CameraSpec()
        self.spec = cam
        self.cam_pos = np.asarray(cam.position, float)
        self.cam_from_base = invert(cam.base_from_camera())
        self.K = CameraIntrinsics.from_hfov(cam.width, cam.height, cam.hfov_deg).K

    def hull_points(self, o: ObjectSpec) -> np.ndarray:
        """Points on the object's outline at its bottom and top (a ball: three great circles)."""
        x, y = o.position
        h = o.height_m
        a = np.linspace(0, 2 * math.pi, 24, endpoint=False)
        if o.kind == "box":
            hx, hy = (float(v) for v in o.size["half_extents"])
            c, s = math.cos(o.yaw), math.sin(o.yaw)
            corners = [(x + c * dx - s * dy, y + s * dx + c * dy) for dx in (-hx, hx) for dy in (-hy, hy)]
            return np.array([(px, py, z) for px, py in corners for z in (0.0, h)])
        r = float(o.size["radius"])
        if o.kind == "sphere":
            ring = [(x + r * math.cos(t), y + r * math.sin(t), r) for t in a]
            ring += [(x + r * math.cos(t), y, r + r * math.sin(t)) for t in a]
            ring += [(x, y + r * math.cos(t), r + r * math.sin(t)) for t in a]
            return np.array(ring)
        return np.array([(x + r * math.cos(t), y + r * math.sin(t), z) for t in a for z in (0.0, h)])

    def box_px(self, o: ObjectSpec) -> tuple[float, float, float, float] | None:
        """The projected box (u0, v0, u1, v1) of the object's hull; None when any point is behind the camera."""
        p = transform_points(self.cam_from_base, self.hull_points(o))
        if np.any(p[:, 2] <= 0.05):
            return None
        uv = (self.K @ p.T).T
        u, v = uv[:, 0] / uv[:, 2], uv[:, 1] / uv[:, 2]
        return float(u.min()), float(v.min()), float(u.max()), float(v.max())

    def depth(self, o: ObjectSpec) -> float:
        return float(transform_points(self.cam_from_base, np.array([*o.position, o.height_m / 2]))[2])


def _graspable(o: ObjectSpec | _Proto) -> bool:
    kind = default_registry()[o.kind]
    cfg = GraspConfig()
    return kind.graspable and min(kind.footprint(o.size)) + cfg.width_margin_m <= cfg.max_opening_m


def _holds(support: _Proto, target: _Proto) -> bool:
    """The support takes the target: inside a bowl's wall, or on a plate, with a centimetre to spare."""
    reach = default_registry()[target.kind].reach_radius(target.size)
    r = float(support.size["radius"])
    return r - 0.006 >= reach + 0.01 if support.kind == "bowl" else r >= reach + 0.008


def _extent(o: ObjectSpec, dim: str) -> float:
    return extent_of(o.footprint_m, o.height_m, dim, default_registry()[o.kind].perceived_shape)


def _margin(ordered: list[float], upto: int) -> float:
    """Smallest gap between consecutive values among the first upto+1 of an ordered list."""
    vals = ordered[:upto + 1]
    return min((abs(b - a) for a, b in zip(vals, vals[1:], strict=False)), default=math.inf)


class _Gen11:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.cam = _Camera()
        self.kinds = default_registry()

    # --- draws -------------------------------------------------------------------------------------------
    def choice(self, seq: tuple | list) -> object:
        return seq[int(self.rng.integers(len(seq)))]

    def word(self, seq: tuple[str, ...] | list[str]) -> str:
        return str(self.choice(seq))

    def value(self, lo: float, hi: float) -> float:
        u = float(self.rng.random())
        if u < EXTREME_SHARE / 2:
            return lo + float(self.rng.uniform(0, 0.08)) * (hi - lo)
        if u < EXTREME_SHARE:
            return hi - float(self.rng.uniform(0, 0.08)) * (hi - lo)
        return float(self.rng.uniform(lo, hi))

    def size(self, kind: str) -> dict:
        out: dict = {}
        for key, (lo, hi) in self.kinds[kind].size_ranges.items():
            out[key] = [self.value(lo, hi), self.value(lo, hi)] if key == "half_extents" else self.value(lo, hi)
        return out

    def proto(self, kind: str, colour: str, role: str) -> _Proto:
        yaw = float(self.rng.uniform(-math.pi / 2, math.pi / 2)) if kind == "box" and self.rng.random() < 0.6 else 0.0
        return _Proto(kind, colour, self.size(kind), role, yaw)

    def supports(self, with_place: bool, n_room: int) -> list[_Proto]:
        """0-2 supports (at most one plate and one bowl, so "the bowl" names one); one at least with a place."""
        kinds = [k for k in ("plate", "bowl") if self.rng.random() < 0.55]
        if with_place and not kinds:
            kinds = [self.word(("plate", "bowl"))]
        kinds = kinds[:max(n_room, 1 if with_place else 0)]
        colours = {"plate": self.word(("white", "white", *CHROMATIC)), "bowl": self.word(("white", *CHROMATIC))}
        return [_Proto(k, colours[k], self.size(k), "support") for k in kinds]

    # --- layout ------------------------------------------------------------------------------------------
    def _spec(self, p: _Proto, x: float, y: float) -> ObjectSpec:
        return ObjectSpec(p.name, p.kind, p.colour, dict(p.size), (float(x), float(y)), p.yaw)

    @staticmethod
    def _in_area(x: float, y: float) -> bool:
        return AREA_X[0] <= x <= AREA_X[1] and abs(y) <= AREA_Y and AREA_R[0] <= math.hypot(x, y) <= AREA_R[1]

    @staticmethod
    def _free(spec: ObjectSpec, placed: list[ObjectSpec]) -> bool:
        return all(math.dist(spec.position, o.position) - spec.footprint_radius_m - o.footprint_radius_m >= MIN_GAP_M
                   for o in placed)

    def _scatter_one(self, p: _Proto, placed: list[ObjectSpec], band: tuple | None = None) -> ObjectSpec | None:
        for _ in range(120):
            (x0, x1), (y0, y1) = band if band is not None else (AREA_X, (-AREA_Y, AREA_Y))
            x, y = float(self.rng.uniform(x0, x1)), float(self.rng.uniform(y0, y1))
            spec = self._spec(p, x, y)
            if self._in_area(x, y) and self._free(spec, placed):
                return spec
        return None

    def _line(self, protos: list[_Proto], axis: int) -> list[ObjectSpec] | None:
        """protos in a row along y (axis 1) or x (axis 0), each gap MIN_GAP_M-MAX_GAP_M, jittered a centimetre."""
        reach = [self.kinds[p.kind].reach_radius(p.size) for p in protos]
        gaps = [float(self.rng.uniform(MIN_GAP_M + 0.002, MAX_GAP_M)) for _ in protos[1:]]
        span = sum(2 * r for r in reach) + sum(gaps)
        lo, hi = (AREA_X if axis == 0 else (-AREA_Y, AREA_Y))
        if span > hi - lo:
            return None
        start = float(self.rng.uniform(lo, hi - span))
        across = float(self.rng.uniform(-0.30, 0.30)) if axis == 0 else float(self.rng.uniform(0.36, 0.72))
        out: list[ObjectSpec] = []
        pos = start
        for i, (p, r) in enumerate(zip(protos, reach, strict=True)):
            pos += r
            off = across + float(self.rng.uniform(-0.01, 0.01))
            x, y = (pos, off) if axis == 0 else (off, pos)
            spec = self._spec(p, x, y)
            if not self._in_area(x, y) or not self._free(spec, out):
                return None
            out.append(spec)
            pos += r + (gaps[i] if i < len(gaps) else 0.0)
        return out

    def _cluster(self, protos: list[_Proto]) -> list[ObjectSpec] | None:
        """A loose cluster grown one object at a time, each MIN_GAP_M-MAX_GAP_M from one already there."""
        out: list[ObjectSpec] = []
        cx, cy = float(self.rng.uniform(0.40, 0.66)), float(self.rng.uniform(-0.24, 0.24))
        for p in protos:
            spec = None
            r = self.kinds[p.kind].reach_radius(p.size)
            for _ in range(150):
                if not out:
                    x, y = cx, cy
                else:
                    base = out[int(self.rng.integers(len(out)))]
                    d = base.footprint_radius_m + r + float(self.rng.uniform(MIN_GAP_M + 0.002, MAX_GAP_M))
                    a = float(self.rng.uniform(0, 2 * math.pi))
                    x, y = base.position[0] + d * math.cos(a), base.position[1] + d * math.sin(a)
                cand = self._spec(p, x, y)
                if self._in_area(x, y) and self._free(cand, out):
                    spec = cand
                    break
            if spec is None:
                return None
            out.append(spec)
        return out

    def layout(self, protos: list[_Proto], style: str, clutter: bool) -> _Layout | None:
        """Place the protos in one style (the group, and in a cluster or a line some distractors, in it;
        the rest scattered) and check the scene against the camera; None when it does not work out."""
        counts: dict[str, int] = {}
        for p in protos:
            counts[p.kind] = counts.get(p.kind, 0) + 1
            p.name = f"{p.colour}_{p.kind}_{counts[p.kind] - 1}"
        group = [p for p in protos if p.role == "group"]
        others = [p for p in protos if p.role == "other"]
        joined = [p for p in others if self.rng.random() < 0.5]
        rest = [p for p in protos if p.role == "support"] + [p for p in others if p not in joined]
        placed: list[ObjectSpec] | None
        if style in ("line_y", "line_x", "cluster"):
            members = group + joined
            order = [members[int(i)] for i in self.rng.permutation(len(members))]
            placed = self._cluster(order) if style == "cluster" else self._line(order, 1 if style == "line_y" else 0)
        else:
            placed = []
            rest = joined + rest
            for p in group:
                band = EDGE_BANDS[int(self.rng.integers(len(EDGE_BANDS)))] if style == "edge" else None
                spec = self._scatter_one(p, placed, band)
                if spec is None:
                    return None
                placed.append(spec)
        if placed is None:
            return None
        for p in rest:
            spec = self._scatter_one(p, placed)
            if spec is None:
                return None
            placed.append(spec)
        by_name = {s.name: s for s in placed}
        objs = [by_name[p.name] for p in protos]
        return self.check_view(objs, style, clutter)

    def check_view(self, objs: list[ObjectSpec], style: str, clutter: bool) -> _Layout | None:
        """The layout when every object is inside the image and the projected boxes overlap at most
        OVERLAP_NORMAL (a cluttered case: more than that, at most OVERLAP_CLUTTER) of the farther one's box."""
        w, h = self.cam.spec.width, self.cam.spec.height
        boxes: dict[str, tuple[float, float, float, float]] = {}
        margin = math.inf
        for o in objs:
            px = self.cam.box_px(o)
            if px is None:
                return None
            m = min(px[0], px[1], w - 1 - px[2], h - 1 - px[3])
            if m < IMAGE_MARGIN_PX:
                return None
            margin = min(margin, m)
            boxes[o.name] = px
        worst, pair = 0.0, ("", "")
        for i, a in enumerate(objs):
            for b in objs[i + 1:]:
                far, near = (a, b) if self.cam.depth(a) > self.cam.depth(b) else (b, a)
                fb, nb = boxes[far.name], boxes[near.name]
                iw = min(fb[2], nb[2]) - max(fb[0], nb[0])
                ih = min(fb[3], nb[3]) - max(fb[1], nb[1])
                if iw <= 0 or ih <= 0:
                    continue
                frac = iw * ih / ((fb[2] - fb[0]) * (fb[3] - fb[1]))
                if frac > worst:
                    worst, pair = frac, (far.name, near.name)
        if worst > (OVERLAP_CLUTTER if clutter else OVERLAP_NORMAL) or (clutter and worst <= OVERLAP_NORMAL):
            return None
        gaps = {o.name: min(math.dist(o.position, q.position) - o.footprint_radius_m - q.footprint_radius_m
                            for q in objs if q is not o) for o in objs}
        return _Layout(objs, style, worst, pair, margin, gaps)

    # --- sentences ---------------------------------------------------------------------------------------
    def sentence(self, phrase: str, place: _Proto | None, view_clause: str = "") -> str:
        if place is None:
            text = self.word(PICK_ONLY).format(P=phrase)
        else:
            loc = "in the bowl" if place.kind == "bowl" else self.word(("on the plate", "onto the plate"))
            if place.kind == "bowl" and self.rng.random() < 0.3:
                loc = "into the bowl"
            text = self.word(PICK_PLACE).format(P=phrase, L=loc)
        if view_clause:
            text = f"{view_clause}, {text}" if self.rng.random() < 0.5 else f"{text}, {view_clause}"
        return text


Executed = tuple[str, _Layout, str, str | None, str]     # text, layout, pick, place, note


def _scene_protos(g: _Gen11, kind: str, n_group: int, group_colours: list[str], n_other: int,
                  other_colours: list[str], with_place: bool) -> list[_Proto]:
    protos = [g.proto(kind, c, "group") for c in group_colours[:n_group]]
    for i in range(n_other):
        protos.append(g.proto(g.word([k for k in GRASPABLE if k != kind]), other_colours[i % len(other_colours)],
                              "other"))
    room = 8 - len(protos)
    return protos + g.supports(with_place, room)


def _groups(g: _Gen11, cat: str) -> tuple[str, int, int]:
    """The kind asked for, the group's size and the distractors' count (3-8 objects in all, with supports)."""
    kind = g.word(GRASPABLE)
    n_group = int(g.rng.integers(3, 6)) if cat in ("ordinal", "side") else int(g.rng.integers(2, 5))
    n_other = int(g.rng.integers(0, 7 - n_group))
    return kind, n_group, n_other


def _note(lay: _Layout, target: str | None) -> str:
    parts = [lay.style, f"{len(lay.objs)} objects", f"min gap {min(lay.gaps.values()) * 100:.1f} cm"]
    if target is not None:
        parts.append(f"target gap {lay.gaps[target] * 100:.1f} cm")
    if lay.max_overlap > 0.0:
        parts.append(f"max overlap {lay.max_overlap:.0%} ({lay.overlap_pair[0]} behind {lay.overlap_pair[1]})")
    parts.append(f"edge margin {lay.min_margin_px:.0f} px")
    reg = default_registry()
    for o in lay.objs:
        ext = []
        for key, (lo, hi) in reg[o.kind].size_ranges.items():
            vals = o.size[key] if key == "half_extents" else [o.size[key]]
            for v in vals:
                if v <= lo + 0.1 * (hi - lo):
                    ext.append(f"{key} low {float(v) * 100:.1f} cm")
                elif v >= hi - 0.1 * (hi - lo):
                    ext.append(f"{key} high {float(v) * 100:.1f} cm")
        if ext:
            star = "*" if o.name == target else ""
            parts.append(f"{star}{o.name}: {', '.join(ext)}")
    return "; ".join(parts)


def _execute(g: _Gen11, cat: str, clutter: bool) -> Executed:
    for _ in range(400):
        with_place = g.rng.random() < 0.75
        kind, n_group, n_other = _groups(g, cat)
        style = g.word(CAT_LAYOUTS[cat])
        colours = [str(c) for c in g.rng.permutation(CHROMATIC)]
        if cat == "attribute":
            group_colours = colours[:n_group]
            # a distractor of another kind in the target's colour, half of the time
            other_colours = [colours[0]] + colours[n_group:] if g.rng.random() < 0.5 else colours[1:]
        else:
            same = g.rng.random() < 0.6
            group_colours = [colours[0]] * n_group if same else [str(g.choice(colours)) for _ in range(n_group)]
            other_colours = [colours[0]] + colours[1:] if g.rng.random() < 0.5 else colours[1:]
        protos = _scene_protos(g, kind, n_group, group_colours, n_other, other_colours, with_place)
        if len(protos) < 3:
            continue
        lay = g.layout(protos, style, clutter)
        if lay is None:
            continue
        group = [o for o in lay.objs if o.kind == kind]
        got = _decide(g, cat, kind, group)
        if got is None:
            continue
        phrase, target, view_clause = got
        tproto = next(p for p in protos if p.name == target.name)
        if not _graspable(target):
            continue
        place = None
        if with_place:
            sups = [p for p in protos if p.role == "support"]
            place = sups[int(g.rng.integers(len(sups)))]
            if not _holds(place, tproto):
                continue
        text = g.sentence(phrase, place, view_clause)
        return text, lay, target.name, place.name if place else None, _note(lay, target.name)
    raise ValueError(f"dev11: no decidable {cat} scene")


def _decide(g: _Gen11, cat: str, kind: str, group: list[ObjectSpec]) -> tuple[str, ObjectSpec, str] | None:
    """The phrase, the object it names and a viewpoint clause, or None when the scene does not decide it clearly."""
    n = NOUN[kind]
    cam_from_base, cam_pos = g.cam.cam_from_base, g.cam.cam_pos
    if cat == "attribute":
        t = group[int(g.rng.integers(len(group)))]
        if sum(o.color == t.color for o in group) != 1 or len({o.color for o in group}) < 2:
            return None
        return f"{t.color} {n}", t, ""
    if cat == "depth":
        way = g.word(("near", "far"))
        frame = g.word(("camera", "robot"))
        srt = sorted(group, key=lambda o: _dist(o, frame, cam_pos), reverse=way == "far")
        gap = abs(_dist(srt[0], frame, cam_pos) - _dist(srt[1], frame, cam_pos))
        if gap < DEPTH_GAP_M:
            return None
        t = srt[0]
        if frame == "camera":
            w = g.word(("nearest to", "closest to")) if way == "near" else g.word(("farthest from", "furthest from"))
            return f"{n} {w} the camera", t, ""
        w = g.word(("closest to", "nearest to")) if way == "near" else "farthest from"
        return f"{n} {w} the robot", t, ""
    if cat in ("side", "ordinal"):
        view = g.word(("camera", "camera", "robot"))
        side = g.word(("left", "right"))
        key = lambda o: _lr(o, view, cam_from_base)   # noqa: E731 - a sort key
        order = sorted(group, key=key, reverse=side == "right")
        cam_order = sorted(group, key=lambda o: _lr(o, "camera", cam_from_base), reverse=(side == "right") != (view == "robot"))
        k = 1 if cat == "side" else int(g.rng.integers(2, min(len(group), 4) + 1))
        if len(order) < k or [o.name for o in order[:k + 1]] != [o.name for o in cam_order[:k + 1]]:
            return None     # the robot's order must be the camera's mirrored (it is, unless perspective differs)
        if _margin([key(o) for o in order], k) < LR_GAP or \
                _margin([_lr(o, "camera", cam_from_base) for o in cam_order], k) < LR_GAP:
            return None
        t = order[k - 1]
        clause = g.word(ROBOT_VIEW) if view == "robot" else ""
        if cat == "side":
            return f"{side}most {n}", t, clause
        return f"{('second', 'third', 'fourth')[k - 2]} {n} from the {side}", t, clause
    # size
    dim, way = SIZE_SELECTORS[kind][int(g.rng.integers(len(SIZE_SELECTORS[kind])))]
    vals = sorted(group, key=lambda o: _extent(o, dim), reverse=way == "max")
    a, b = _extent(vals[0], dim), _extent(vals[1], dim)
    if abs(a - b) / max(a, b) < SIZE_REL:
        return None
    return f"{g.word(SIZE_WORDS[(dim, way)])} {n}", vals[0], ""


def _refuse(g: _Gen11, reason: str, clutter: bool) -> tuple[str, _Layout, str]:
    for _ in range(400):
        with_place = g.rng.random() < 0.7
        kind = g.word(GRASPABLE)
        n_group = int(g.rng.integers(2, 5))
        n_other = int(g.rng.integers(0, 7 - n_group))
        colours = [str(c) for c in g.rng.permutation(CHROMATIC)]
        if reason == "ambiguous" and g.rng.random() < 0.5:
            group_colours = [colours[0]] * 2 + colours[1:n_group - 1]    # two of one colour
        else:
            group_colours = colours[:n_group]
        protos = _scene_protos(g, kind, n_group, group_colours, n_other, colours[n_group:] or colours[1:], with_place)
        if len(protos) < 3:
            continue
        if reason == "absent_kind":
            missing = [k for k in GRASPABLE if k != kind and not any(p.kind == k for p in protos)]
            if not missing:
                continue
        lay = g.layout(protos, g.word(LAYOUTS), clutter)
        if lay is None:
            continue
        sups = [p for p in protos if p.role == "support"]
        place = sups[int(g.rng.integers(len(sups)))] if with_place and sups else None
        group = [o for o in lay.objs if o.kind == kind]
        n = NOUN[kind]
        present = {o.color for o in lay.objs}
        if reason == "absent_colour":
            absent = [c for c in CHROMATIC if c not in present]
            if not absent:
                continue
            text = g.sentence(f"{g.word(absent)} {n}", place)
        elif reason == "absent_kind":
            noun = NOUN[g.word(missing)]
            text = g.sentence(f"{g.word(sorted(present & set(CHROMATIC)))} {noun}" if g.rng.random() < 0.5
                              else noun, place)
        elif reason == "ambiguous":
            twins = [c for c in {o.color for o in group} if sum(o.color == c for o in group) > 1]
            text = g.sentence(f"{twins[0]} {n}" if twins else n, place)
        else:
            t = group[int(g.rng.integers(len(group)))]
            text = g.word((f"do not pick up the {t.color} {n}", f"don't pick the {t.color} {n}",
                           f"do not move the {t.color} {n}", f"never touch the {t.color} {n}"))
        return text, lay, _note(lay, None)
    raise ValueError(f"dev11: no {reason} scene")


def _cases(part: str, n: int) -> list[tuple[DevCase, str]]:
    if part not in SEEDS:
        raise ValueError(f"dev11 has parts {', '.join(SEEDS)}, not {part!r}")
    g = _Gen11(SEEDS[part])
    out: list[tuple[DevCase, str]] = []
    n_exec = n_ref = 0
    for i in range(n):
        cid = f"dev11{part[0]}{i:04d}"
        clutter = bool(g.rng.random() < CLUTTER_SHARE)
        # a refusal whenever they fall below REFUSE_SHARE of the cases so far; categories in turn: equal shares
        if n_ref < math.floor(REFUSE_SHARE * (i + 1) + 0.5):
            reason = REFUSALS11[n_ref % len(REFUSALS11)]
            n_ref += 1
            text, lay, note = _refuse(g, reason, clutter)
            out.append((DevCase(cid, f"refuse_{reason}", text, tuple(lay.objs), "refuse", None, None), note))
            continue
        cat = CATS11[n_exec % len(CATS11)]
        n_exec += 1
        text, lay, pick, place, note = _execute(g, cat, clutter)
        label = f"{cat}_overlap" if lay.max_overlap > OVERLAP_NORMAL else cat
        out.append((DevCase(cid, label, text, tuple(lay.objs), "execute", pick, place), note))
    return out


def dev11_cases(part: str = "tune", n: int = 300) -> list[DevCase]:
    """The first n cases of one part ('tune' or 'check'): about 82 % to execute over five categories in
    equal shares (a category with "_overlap" is a cluttered view), the rest must be refused (four reasons)."""
    return [c for c, _ in _cases(part, n)]


def dev11_notes(part: str = "tune", n: int = 300) -> dict[str, str]:
    """What is special about each case's scene, by case id: layout, gaps, overlap, edge margin, extreme sizes
    (the object to pick starred)."""
    return {c.id: note for c, note in _cases(part, n)}

