"""Instructions for simulated scenes, generated from ground truth and verified by the grounding
itself: a phrasing is only used when the reasoner, given marks made from the true objects and
stricter margins than it normally needs, resolves it to exactly the intended pick and place.

Two phrasing sets: `train` and `heldout` (other verbs, synonyms and word orders) so learned
policies can be scored on phrasings they never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import GroundingConfig, ground_instruction
from spatialbot_ros.core.marks import DepthStats, Mark
from spatialbot_ros.core.object_kinds import KindRegistry, SupportRole, default_registry
from spatialbot_ros.core.transforms import invert, transform_points

CATEGORIES = ("color", "size", "shape", "position", "depth", "relation", "viewpoint")
PHRASING_SETS = ("train", "heldout")
# kinds' perceived shapes, nouns per phrasing set, training synonyms and pickability: core.object_kinds
TEMPLATES = {
    "train": ["pick the {P} and put it {L}", "pick up the {P} and place it {L}", "put the {P} {L}",
              "move the {P} {L}", "place the {P} {L}"],
    "heldout": ["grab the {P} and drop it {L}", "take the {P}, then set it {L}", "could you transfer the {P} {L}",
                "lift the {P} and deposit it {L}", "please relocate the {P} {L}"],
}
PICK_ONLY = {"train": ["pick up the {P}"], "heldout": ["grasp the {P}"]}
# stricter than the runtime defaults so perception noise cannot flip the answer
VERIFY_CONFIG = dict(size_margin=0.25, depth_margin_m=0.06, lr_margin=0.08, nearest_margin_m=0.06)


@dataclass(frozen=True)
class SceneObjectFacts:
    name: str
    kind: str
    color: str
    position_base: np.ndarray
    footprint_m: tuple[float, float]
    height_m: float


@dataclass(frozen=True)
class InstructionCase:
    instruction: str
    category: str
    pick_name: str
    place_name: str | None
    place_relation: str | None
    place_point_base: np.ndarray | None
    reference_name: str | None = None  # the object a relative place is measured from


def marks_from_facts(objects: list[SceneObjectFacts], base_from_camera: np.ndarray,
                     kinds: KindRegistry | None = None) -> list[Mark]:
    """Ideal marks (perfect perception) numbered left to right as the proposer would."""
    kinds = kinds or default_registry()
    cam_from_base = invert(base_from_camera)
    marks = []
    for o in objects:
        c_base = np.asarray(o.position_base, float)
        c_cam = transform_points(cam_from_base, c_base)
        marks.append(Mark(id=0, mask=np.zeros((1, 1), bool), box_xyxy=(0, 0, 1, 1),
                          centroid_px=(float(c_cam[0] / c_cam[2]), float(c_cam[1] / c_cam[2])), centroid_cam=c_cam,
                          footprint_m=tuple(o.footprint_m), height_m=o.height_m, color_name=o.color,
                          depth=DepthStats(*(float(c_cam[2] * 1000),) * 4, 1.0), shape=kinds[o.kind].perceived_shape,
                          centroid_base=c_base, label=o.name))
    marks.sort(key=lambda m: m.centroid_px)
    for i, m in enumerate(marks, start=1):
        m.id = i
    return marks


def _pick_phrases(t: SceneObjectFacts, objects: list[SceneObjectFacts], noun: dict[str, str],
                  rng: np.random.Generator) -> dict[str, list[str]]:
    n = noun[t.kind]
    others = [o for o in objects if o is not t]
    ref_objs = [o for o in others if sum(1 for x in objects if x.color == o.color and x.kind == o.kind) == 1]
    out: dict[str, list[str]] = {
        "shape": [n],
        "color": [f"{t.color} {n}", f"{t.color} object"],
        "size": [f"{w} {n}" for w in ("biggest", "smallest", "tallest", "shortest", "largest")],
        "position": [f"{w} {n}" for w in ("leftmost", "rightmost", "middle")]
        + [f"{w} {n} from the {side}" for w in ("second", "third") for side in ("left", "right")],
        "depth": [f"{w} {n}" for w in ("closest", "farthest", "nearest")],
        "relation": [],
        "viewpoint": [f"{w} {n} from the robot's view" for w in ("leftmost", "rightmost")],
    }
    for r in ref_objs:
        rd = f"{r.color} {noun[r.kind]}"
        for rel in ("left of", "right of", "next to", "in front of", "behind"):
            out["relation"].append(f"{n} {rel} the {rd}")
    for k in out:
        rng.shuffle(out[k])
    return out


def _place_phrases(t: SceneObjectFacts, objects: list[SceneObjectFacts], noun: dict[str, str],
                   kinds: KindRegistry) -> list[tuple[str, str | None, str | None]]:
    """(phrase, place object name or None, relation) options."""
    out: list[tuple[str, str | None, str | None]] = []
    for o in objects:
        if o is t:
            continue
        unique_kind = sum(1 for x in objects if x.kind == o.kind) == 1
        desc = noun[o.kind] if unique_kind else f"{o.color} {noun[o.kind]}"
        support = kinds[o.kind].support
        if support is SupportRole.ON:
            out.append((f"on the {desc}", o.name, None))
        elif support is SupportRole.INTO:
            out.append((f"into the {desc}", o.name, None))
        elif sum(1 for x in objects if x.color == o.color and x.kind == o.kind) == 1:
            for rel, word in (("left_of", "to the left of"), ("right_of", "to the right of"),
                              ("in_front_of", "in front of"), ("behind", "behind")):
                out.append((f"{word} the {o.color} {noun[o.kind]}", o.name, rel))
    return out


def _free(point: np.ndarray, t: SceneObjectFacts, objects: list[SceneObjectFacts]) -> bool:
    x, y = point[:2]
    if not (0.3 <= x <= 0.76 and -0.38 <= y <= 0.38 and 0.3 <= np.hypot(x, y) <= 0.78):
        return False
    for o in objects:
        if o is t:
            continue
        if np.hypot(*(point[:2] - o.position_base[:2])) < o.footprint_m[0] / 2 + t.footprint_m[0] / 2 + 0.02:
            return False
    return True


def generate_instruction(objects: list[SceneObjectFacts], rng: np.random.Generator, base_from_camera: np.ndarray,
                         viewpoint: str = "camera", phrasing_set: str = "train",
                         categories: tuple[str, ...] | None = None, pick_only: bool = False,
                         vary_nouns: bool = False, kinds: KindRegistry | None = None) -> InstructionCase:
    """A verified instruction for a random pickable object, worded by a random usable category.

    vary_nouns: with the train set, draw each kind's noun from TRAIN_SYNONYMS (training data)."""
    if phrasing_set not in PHRASING_SETS:
        raise ValueError(f"phrasing_set must be one of {list(PHRASING_SETS)}")
    kinds = kinds or default_registry()
    cats = list(categories or CATEGORIES)
    noun = {k.name: k.nouns.phrasing(phrasing_set) for k in kinds}
    if vary_nouns and phrasing_set == "train":
        # one draw per kind with synonyms, in registry order (built-ins first: their draws are unchanged)
        noun.update({k.name: str(k.nouns.train_synonyms[int(rng.integers(len(k.nouns.train_synonyms)))])
                     for k in kinds if k.nouns.train_synonyms})
    marks = marks_from_facts(objects, base_from_camera, kinds)
    by_name = {m.label: m for m in marks}
    cfg = GroundingConfig(default_viewpoint=viewpoint, **VERIFY_CONFIG)
    runtime_cfg = GroundingConfig(default_viewpoint=viewpoint)
    pickables = [o for o in objects if kinds[o.kind].graspable]
    if not pickables:
        raise ValueError(f"scene has no pickable object ({', '.join(kinds.graspable)})")
    order = list(rng.permutation(len(pickables)))
    for ti in order:
        t = pickables[int(ti)]
        phrases = _pick_phrases(t, objects, noun, rng)
        places = [] if pick_only else _place_phrases(t, objects, noun, kinds)
        rng.shuffle(places)
        cat_order = [cats[int(i)] for i in rng.permutation(len(cats))]
        for cat in cat_order:
            for pick_phrase in phrases.get(cat, []):
                for place_phrase, place_name, relation in (places or [("", None, None)]):
                    tmpl_set = PICK_ONLY[phrasing_set] if not place_phrase else TEMPLATES[phrasing_set]
                    tmpl = tmpl_set[int(rng.integers(len(tmpl_set)))]
                    text = tmpl.format(P=pick_phrase, L=place_phrase)
                    try:  # unambiguous with margins, and the runtime defaults agree
                        g = ground_instruction(text, marks, cfg, base_from_camera)
                        g_rt = ground_instruction(text, marks, runtime_cfg, base_from_camera)
                    except GroundingError:
                        continue
                    if (g_rt.pick_mark_id, getattr(g_rt.place, "mark_id", None)) != \
                            (g.pick_mark_id, getattr(g.place, "mark_id", None)):
                        continue
                    if g.pick_mark_id != by_name[t.name].id:
                        continue
                    point = None
                    if place_phrase:
                        if g.place is None or g.place.mark_id != by_name[place_name].id:
                            continue
                        if relation is not None:
                            if g.place.relation != relation or not _free(g.place.point_base, t, objects):
                                continue
                            point = np.asarray(g.place.point_base, float)[:2]
                    return InstructionCase(text, cat, t.name, None if relation else place_name, relation, point,
                                           place_name if relation else None)
    raise ValueError("no verifiable instruction for this scene")
