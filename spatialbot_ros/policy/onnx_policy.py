"""The learned policy backend: the trained network on ONNX Runtime (TensorRT -> CUDA -> CPU).

Per episode: the instruction is parsed (core.phrase_parser) and its pick and place phrases, rendered
in the training vocabulary, are embedded once (reset). On the first frame the Set-of-Mark proposer
gives the candidate regions and the network chooses among them, with a logit bonus for the marks the
parsed phrases resolve to; every step the network emits the 6-DoF delta + gripper command, and on
contact checks its contact judgment. A low-confidence choice, one that contradicts what the phrases
state, or an instruction the parse cannot resolve is refused (the robot does not move), never guessed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from spatialbot_ros.core.actions import EEAction, GripperCommand
from spatialbot_ros.core.calibration import ConfidenceCalibration, softmax
from spatialbot_ros.core.ee_delta import StepLimits, clip_delta
from spatialbot_ros.core.errors import GroundingError, SpatialBotError
from spatialbot_ros.core.frame import RGBDFrame
from spatialbot_ros.core.grasp import GraspConfig, support_surface_z
from spatialbot_ros.core.grounding import (
    Grounding,
    GroundingConfig,
    InstructionParts,
    canonical_parts,
    format_report,
    ground_instruction,
    instruction_report,
    parse_place_phrase,
    phrase_report,
    phrase_shape,
    place_target_for,
)
from spatialbot_ros.core.grounding_check import CheckContext, verify_grounding
from spatialbot_ros.core.marks import Mark, MarkProposer, Proposals, Unmeasured
from spatialbot_ros.core.som_proposer import GeometricProposer, ProposerConfig
from spatialbot_ros.core.task import FailureReason, TaskPhase
from spatialbot_ros.policy.base import ContactEstimate, GroundedTarget, Observation, PlaceGoal, PolicyStep
from spatialbot_ros.policy.learned_features import (
    CHOICE_NAMES,
    PLACE_RELATIONS,
    InstructionText,
    camera_features,
    image_tensor,
    mark_features,
    no_choices,
    proprio_features,
    select_marks,
)
from spatialbot_ros.policy.ort_providers import ProviderConfig, make_session
from spatialbot_ros.policy.text_encoder import TEXT_FEATURES

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "spatial_policy"
_MOVE_PHASES = {TaskPhase.APPROACH, TaskPhase.DESCEND, TaskPhase.LIFT, TaskPhase.CARRY, TaskPhase.PLACE,
                TaskPhase.RETREAT}
_CONTACT_PHASES = {TaskPhase.CHECK_CONTACT, TaskPhase.CLOSE}


class ModelFilesError(SpatialBotError):
    pass


@dataclass
class OnnxPolicyConfig:
    model_dir: str = ""                      # "" -> the model shipped with the package
    providers: ProviderConfig = field(default_factory=ProviderConfig)
    min_pick_confidence: float = 0.5         # below this the choice is refused as ambiguous
    # logit bonus for marks whose perceived shape is the one the phrase's noun names in the product's
    # vocabulary (core.grounding.NOUNS): a lexical prior for nouns the sentence encoder places weakly
    lexicon_prior: float = 4.0
    # the phrase parser's structured reading, resolved by the rule resolver over the same marks: a logit
    # bonus for the marks it names (0 = the network alone), and whether a choice that disagrees with it,
    # or an instruction it refuses (absent, ambiguous, impossible), is refused
    parse_prior: float = 30.0
    require_parse_agreement: bool = True
    converge_tol_m: float = 0.004
    converge_tol_rad: float = 0.03
    contact_threshold: float = 0.5
    step_limits: StepLimits = field(default_factory=StepLimits)
    # floors under the learned goal (the bounds the geometric planner keeps): on the descent the pads' centre
    # stays gripper.min_tcp_height_m above what the object stands on, on the place the held object's bottom
    # stays gripper.place_clearance_m above the surface it goes on; a goal below ends the phase at the floor
    # instead of pressing the fingers (or the object) into the table until the phase times out
    gripper: GraspConfig = field(default_factory=GraspConfig)
    proposer: ProposerConfig = field(default_factory=ProposerConfig)
    grounding: GroundingConfig = field(default_factory=GroundingConfig)


def onnx_policy_config(model_dir: str = "", options: dict[str, Any] | None = None) -> OnnxPolicyConfig:
    """OnnxPolicyConfig from flat options (a backend_config section): provider keys (preference,
    trt_fp16, trt_engine_cache_dir, cuda_tf32, ...) go to ProviderConfig, the rest to the policy."""
    opts = dict(options or {})
    provider_keys = {f.name for f in fields(ProviderConfig)}
    policy_keys = {"min_pick_confidence", "lexicon_prior", "parse_prior", "require_parse_agreement", "converge_tol_m",
                   "converge_tol_rad", "contact_threshold"}
    unknown = set(opts) - provider_keys - policy_keys
    if unknown:
        raise ValueError(f"unknown onnx option(s) {sorted(unknown)}; known: {sorted(provider_keys | policy_keys)}")
    prov = {k: opts.pop(k) for k in list(opts) if k in provider_keys}
    if "preference" in prov:
        prov["preference"] = tuple(prov["preference"])
    return OnnxPolicyConfig(model_dir=model_dir, providers=ProviderConfig(**prov), **opts)


def load_metadata(model_dir: Path) -> dict[str, Any]:
    onnx_path, meta_path = model_dir / "policy.onnx", model_dir / "policy.json"
    missing = [p.name for p in (onnx_path, meta_path) if not p.exists()]
    if missing:
        raise ModelFilesError(f"model directory {model_dir} lacks {missing}; train one with "
                              "`spatialbot-ros train` or use the shipped model")
    return json.loads(meta_path.read_text())


@dataclass
class _Percept:
    marks: list[Mark]
    mark_feats: np.ndarray
    valid: np.ndarray
    camera: np.ndarray
    image: np.ndarray
    target: GroundedTarget | None = None
    place: PlaceGoal | None = None
    explanation: str = ""
    choices: dict[str, np.ndarray] | None = None   # one-hot pick / place / relation once chosen
    confidence: float | None = None                # the chosen pick mark's (calibrated) probability
    unmeasured: tuple[Unmeasured, ...] = ()        # object evidence perception could not measure
    grasp_tcp_z: float | None = None               # TCP height when the gripper closed (the held object's offset)


class OnnxPolicy:
    """Learned backend; same Policy interface as the built-in one."""

    name = "onnx"
    frame_every_step = False

    def __init__(self, config: OnnxPolicyConfig | None = None, proposer: MarkProposer | None = None,
                 encoder: Any | None = None) -> None:
        self.config = cfg = config or OnnxPolicyConfig()
        self.model_dir = Path(cfg.model_dir) if cfg.model_dir else MODEL_DIR
        self.metadata = load_metadata(self.model_dir)
        self.session = make_session(self.model_dir / "policy.onnx", cfg.providers)
        inputs = [i.name for i in self.session.get_inputs()]
        if inputs != list(self.metadata["inputs"]):
            raise ModelFilesError(f"policy.onnx inputs {inputs} do not match policy.json {list(self.metadata['inputs'])}")
        self._outputs = [o.name for o in self.session.get_outputs()]
        # graphs exported since the choice inputs exist take the grounding decision; older ones re-derive it
        self._takes_choices = all(n in inputs for n in CHOICE_NAMES)
        self._proposer = proposer or GeometricProposer(cfg.proposer)
        if encoder is None:
            from spatialbot_ros.policy.text_encoder import PhraseEncoder

            encoder = PhraseEncoder()
        self._encoder = encoder
        self._text: InstructionText | None = None
        self._report: list[tuple[str, str]] = []
        self._instruction = ""
        self._pick_emb = self._place_emb = np.zeros((1, TEXT_FEATURES), np.float32)
        self._percept: _Percept | None = None
        # the temperature fitted on a dev split (`spatialbot-ros calibrate-confidence`), applied to the pick
        # logits before the refusal threshold; T = 1 (the raw softmax) for a model without the file
        self.calibration = ConfidenceCalibration.load(self.model_dir)
        self.temperature = self.calibration.temperature if self.calibration is not None else 1.0
        self.last_pick_logits: np.ndarray | None = None   # the first frame's final pick logits (calibration fit)
        self.last_pick_mark: Mark | None = None

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def reset(self, instruction: str) -> None:
        """Raises GroundingError when the instruction names no object to pick ("hello"): nothing moves
        for it. An empty one is reported by step() as bad input."""
        self._percept = None
        self._text = None
        self._report = []
        self._instruction = instruction
        if not isinstance(instruction, str) or not instruction.strip():
            return
        # the parser reads the sentence (synonyms, viewpoint clauses, object-first order) and renders each
        # phrase in the training vocabulary, so the encoder sees what it was trained on; the report keeps
        # the user's own words
        canon = canonical_parts(instruction, self.config.grounding.default_viewpoint)
        self._report = instruction_report(instruction, self.config.grounding.default_viewpoint)
        self._text = InstructionText(canon.pick_phrase, canon.place_phrase, canon.viewpoint)
        emb = self._encoder.phrase_features([self._text.pick, self._text.place])
        self._pick_emb, self._place_emb = emb[0:1], emb[1:2]

    def _error(self, message: str, reason: FailureReason, timings: dict[str, float]) -> PolicyStep:
        return PolicyStep(EEAction(), error=message, timings_ms=timings, failure=reason)

    def _perceive(self, obs: Observation, timings: dict[str, float]) -> _Percept:
        assert obs.frame is not None and self._text is not None
        t0 = time.perf_counter()
        proposals = self._proposer.propose(obs.frame, obs.base_from_camera)
        t1 = time.perf_counter()
        if not proposals.marks:
            raise GroundingError("no objects were found on the table to ground the instruction")
        marks = select_marks(proposals.marks)
        feats, valid = mark_features(marks, obs.frame, obs.base_from_camera)
        percept = _Percept(marks, feats[None], valid.astype(np.float32)[None],
                           camera_features(obs.base_from_camera, self._text.viewpoint)[None],
                           image_tensor(obs.frame)[None], unmeasured=tuple(proposals.unmeasured))
        timings.update(propose_ms=(t1 - t0) * 1e3, features_ms=(time.perf_counter() - t1) * 1e3)
        return percept

    def ground(self, frame: RGBDFrame, instruction: str, base_from_camera: np.ndarray) -> tuple[Proposals, Grounding]:
        """One-shot perception + learned grounding of a frame (what the spatial_policy node publishes).
        Raises GroundingError when the network's choice is not confident enough."""
        self.reset(instruction)
        if self._text is None:
            raise GroundingError("empty instruction")
        obs = Observation(instruction, TaskPhase.APPROACH, np.eye(4), 0.0, np.zeros((2, 3)), base_from_camera, frame)
        p = self._perceive(obs, {})
        out = self._run(p, proprio_features(obs.tcp_pose_base, 0.0, TaskPhase.APPROACH)[None])
        grounding = self._choose(out, p, obs)
        self._percept = None
        return Proposals(p.marks, None), grounding

    def _run(self, p: _Percept, proprio: np.ndarray) -> dict[str, np.ndarray]:
        feeds = {"image": p.image, "marks": p.mark_feats, "marks_valid": p.valid, "pick_text": self._pick_emb,
                 "place_text": self._place_emb, "camera": p.camera, "proprio": proprio}
        if self._takes_choices:
            feeds.update(p.choices or no_choices())
        return dict(zip(self._outputs, self.session.run(self._outputs, feeds), strict=True))

    def _choose(self, out: dict[str, np.ndarray], p: _Percept, obs: Observation) -> Grounding:
        """Read the grounding heads once, on the first frame: the marks the episode is about."""
        assert self._text is not None
        n = len(p.marks)
        rules = self._parse_reading(p, obs)
        pick_logits = self._with_lexicon_prior(out["pick_logits"][0][:n], self._text.pick, p.marks)
        pick_logits = self._with_parse_prior(pick_logits, p.marks, rules.pick_mark_id if rules else None)
        pick_p = softmax(pick_logits, self.temperature)
        i = int(np.argmax(pick_p))
        self.last_pick_logits, self.last_pick_mark = np.asarray(pick_logits, float).copy(), p.marks[i]
        if pick_p[i] < self.config.min_pick_confidence:
            top = np.argsort(-pick_p)[:3]
            cands = ", ".join(f"{p.marks[j].describe()} p={pick_p[j]:.2f}" for j in top)
            raise GroundingError(f"'{self._text.pick}' is ambiguous to the learned policy: {cands}",
                                 [m.describe() for m in p.marks])
        mark = p.marks[i]
        centroid_base = mark.centroid_base if mark.centroid_base is not None else np.zeros(3)
        p.target = GroundedTarget(mark.id, mark.box_xyxy, mark.centroid_cam.copy(), np.asarray(centroid_base),
                                  mark.describe())
        why = f"picked {mark.describe()} (p={pick_p[i]:.2f}) for '{self._text.pick}'"
        target = None
        choices = no_choices()
        choices["pick_choice"][0, i] = 1.0
        if self._text.place:
            place_logits = self._with_lexicon_prior(out["place_logits"][0][:n], parse_place_phrase(self._text.place)[1],
                                                    p.marks)
            rules_place = rules.place if rules is not None else None
            place_logits = self._with_parse_prior(place_logits, p.marks, rules_place.mark_id if rules_place else None)
            place_p = softmax(np.where(np.arange(n) == i, -1e4, place_logits))
            j = int(np.argmax(place_p))
            rel_logits = np.asarray(out["relation_logits"][0], float).copy()
            if rules_place is not None and self.config.parse_prior:
                rel_logits[PLACE_RELATIONS.index(rules_place.relation or "support")] += self.config.parse_prior
            r = int(np.argmax(rel_logits))
            rel = PLACE_RELATIONS[r]
            choices["place_choice"][0, j] = 1.0
            choices["relation_choice"][0, r] = 1.0
            target = place_target_for(p.marks[j], None if rel == "support" else rel, p.marks, self.config.grounding,
                                      obs.base_from_camera, self._text.viewpoint)
            point = np.asarray(target.point_base if target.point_base is not None else np.zeros(3), float).copy()
            if target.kind == "relative":   # the held object's centre once set down on the table, not z = 0
                point[2] = max(point[2], 0.5 * float(mark.height_m))
            p.place = PlaceGoal(target.kind, point, p.marks[j].id, float(p.marks[j].height_m), target.relation)
            why += f"; place {rel.replace('_', ' ')} {p.marks[j].describe()} (p={place_p[j]:.2f})"
        report = getattr(self, "_report", None) or phrase_report(InstructionParts(self._text.pick, self._text.place, self._text.viewpoint))
        why += f"; {format_report(report)}"
        grounding = Grounding(mark.id, target, why, self._text.pick, self._text.place, self._text.viewpoint, report)
        try:   # confident is not correct: the choice must agree with what the phrases state
            verify_grounding(grounding, CheckContext(p.marks, self._text.viewpoint, self.config.grounding, p.unmeasured))
            if rules is not None and self.config.require_parse_agreement:
                _agree(grounding, rules, p.marks)
        except GroundingError:
            p.target = p.place = None
            raise
        p.explanation = why
        p.choices = choices
        p.confidence = float(pick_p[i])
        return grounding

    def _parse_reading(self, p: _Percept, obs: Observation) -> Grounding | None:
        """The rule resolver's reading of the parsed instruction over the marks the network sees; None
        when it refuses and agreement is not required (then the network decides alone)."""
        instruction = getattr(self, "_instruction", "")
        if not instruction or not (self.config.parse_prior or self.config.require_parse_agreement):
            return None
        try:
            return ground_instruction(instruction, p.marks, self.config.grounding, obs.base_from_camera)
        except GroundingError as exc:
            if self.config.require_parse_agreement:
                p.target = p.place = None
                raise GroundingError(f"the parsed instruction does not resolve: {exc}", exc.candidates) from None
            return None

    def _with_parse_prior(self, logits: np.ndarray, marks: list[Mark], mark_id: int | None) -> np.ndarray:
        if mark_id is None or not self.config.parse_prior:
            return logits
        return logits + self.config.parse_prior * np.array([m.id == mark_id for m in marks[:len(logits)]], float)

    def _with_lexicon_prior(self, logits: np.ndarray, phrase: str, marks: list[Mark]) -> np.ndarray:
        shape = phrase_shape(phrase) if self.config.lexicon_prior else None
        match = np.array([m.shape == shape for m in marks[:len(logits)]], dtype=bool)
        if shape is None or not match.any():
            return logits
        return logits + self.config.lexicon_prior * match

    def step(self, obs: Observation) -> PolicyStep:
        timings: dict[str, float] = {}
        t_start = time.perf_counter()
        if self._text is None:
            return self._error("empty instruction", FailureReason.BAD_INPUT, timings)
        try:
            if self._percept is None:
                if obs.frame is None:
                    return self._error("no camera frame yet: the first step needs one", FailureReason.BAD_INPUT, timings)
                self._percept = self._perceive(obs, timings)
            elif obs.frame is not None:
                self._percept.image = image_tensor(obs.frame)[None]
            proprio = proprio_features(obs.tcp_pose_base, obs.gripper_width_m, obs.phase)[None]
        except GroundingError as exc:
            return self._error(str(exc), FailureReason.GROUNDING_FAILED, timings)
        except (SpatialBotError, ValueError) as exc:
            return self._error(str(exc), FailureReason.BAD_INPUT, timings)
        p = self._percept
        t0 = time.perf_counter()
        out = self._run(p, proprio)
        if p.target is None:
            try:
                self._choose(out, p, obs)
            except GroundingError as exc:
                self._percept = None
                return self._error(str(exc), FailureReason.GROUNDING_FAILED, timings)
            log.info("learned grounding: %s", p.explanation)
            if self._takes_choices:  # act toward what was chosen, not the graph's own argmax
                out = self._run(p, proprio)
        timings["onnx_ms"] = (time.perf_counter() - t0) * 1e3
        a = out["action"][0].astype(float)
        if not np.all(np.isfinite(a)):
            return self._error("the network produced a non-finite action", FailureReason.POLICY_ERROR, timings)
        gripper = GripperCommand.OPEN if a[6] < 1 / 3 else GripperCommand.CLOSE if a[6] > 2 / 3 else GripperCommand.HOLD
        step = PolicyStep(EEAction(gripper=gripper), target=p.target, place=p.place, marks=p.marks,
                          explanation=p.explanation, timings_ms=timings, confidence=p.confidence)
        if obs.phase == TaskPhase.CLOSE:
            p.grasp_tcp_z = float(obs.tcp_pose_base[2, 3])
        if obs.phase in _MOVE_PHASES:
            if obs.phase in (TaskPhase.CARRY, TaskPhase.PLACE) and p.place is None:
                step.error = "the instruction names no place target"
                return step
            t, r = clip_delta(a[0:3], a[3:6], self.config.step_limits)
            if (floor := self._floor(obs.phase, p)) is not None:
                t = np.array(t, dtype=float)
                t[2] = max(t[2], min(0.0, floor - float(obs.tcp_pose_base[2, 3])))
            step.phase_done = bool(np.linalg.norm(t) <= self.config.converge_tol_m
                                   and np.linalg.norm(r) <= self.config.converge_tol_rad)
            step.action = EEAction(t, r, gripper)
        else:
            step.phase_done = True
        if obs.frame is not None and obs.phase in _CONTACT_PHASES:
            prob = float(1.0 / (1.0 + np.exp(-float(out["contact_logit"][0, 0]))))
            step.contact = ContactEstimate(prob >= self.config.contact_threshold, float("nan"),
                                           f"learned contact p={prob:.2f}", True)
        timings["step_ms"] = (time.perf_counter() - t_start) * 1e3
        return step

    def _floor(self, phase: TaskPhase, p: _Percept) -> float | None:
        """The lowest TCP height this phase may reach, None where no floor applies."""
        target = next((m for m in p.marks if p.target is not None and m.id == p.target.mark_id), None)
        if target is None:
            return None
        cfg = self.config.gripper
        if phase == TaskPhase.DESCEND:
            return target.base_height_m + cfg.min_tcp_height_m
        if phase == TaskPhase.PLACE and p.place is not None and p.grasp_tcp_z is not None:
            support = next((m for m in p.marks if m.id == p.place.support_mark_id), None)
            surface = support_surface_z(p.place.kind, support.height_m if support is not None else 0.0, cfg)
            return surface + cfg.place_clearance_m + (p.grasp_tcp_z - target.base_height_m)
        return None

def _agree(chosen: Grounding, rules: Grounding, marks: list[Mark]) -> None:
    """Refuse a learned choice that the parsed phrases, resolved by the rules, contradict."""
    by_id = {m.id: m for m in marks}
    if chosen.pick_mark_id != rules.pick_mark_id:
        raise GroundingError(f"the learned choice {by_id[chosen.pick_mark_id].describe()} contradicts the parsed "
                             f"phrase '{rules.pick_phrase}', which names {by_id[rules.pick_mark_id].describe()}",
                             [m.describe() for m in marks])
    a, b = chosen.place, rules.place
    if (a is None) != (b is None) or (a is not None and b is not None and (a.mark_id, a.relation) != (b.mark_id, b.relation)):
        raise GroundingError(f"the learned place choice contradicts the parsed place phrase '{rules.place_phrase}'",
                             [m.describe() for m in marks])
