"""The learned spatial policy network (PyTorch; exported to ONNX for run time).

Groma-style region grounding: each Set-of-Mark region is a token; a phrase token (the pick phrase
or the place phrase, embedded by a pretrained sentence encoder) and a camera token attend over
the mark tokens, so comparisons ("second from the left", "biggest", "left of the red box") are
made between regions. Heads: pick and place mark logits, place relation, contact, and a 7-D
action. The action head is structured: it predicts a goal (a learned mixture of the chosen
marks' anchors plus a learned offset and grasp yaw) and emits the step-limited delta toward it,
so positions come from perception rather than being regressed from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from spatialbot_ros.policy.learned_features import (
    CHOICE_NAMES,
    IDX_AXIS,
    IDX_TOP,
    IMAGE_HW,
    MAX_MARKS,
    N_CAMERA,
    N_MARK_FEATURES,
    N_PROPRIO,
    PHASES,
    PLACE_RELATIONS,
)
from spatialbot_ros.policy.text_encoder import TEXT_FEATURES

INPUT_NAMES = ("image", "marks", "marks_valid", "pick_text", "place_text", "camera", "proprio")
EXPORT_INPUT_NAMES = (*INPUT_NAMES, *CHOICE_NAMES)
OUTPUT_NAMES = ("pick_logits", "place_logits", "relation_logits", "contact_logit", "action")
N_REL = len(PLACE_RELATIONS)
_PHASE0 = 10  # proprio index of the first phase one-hot
_MASKED = -1.0e4


@dataclass(frozen=True)
class NetConfig:
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    max_translation_m: float = 0.05
    max_rotation_rad: float = 0.35


def input_shapes(batch: int | str = "batch") -> dict[str, list[int | str]]:
    """Shapes of the exported graph's inputs (EXPORT_INPUT_NAMES)."""
    h, w = IMAGE_HW
    return {"image": [batch, 4, h, w], "marks": [batch, MAX_MARKS, N_MARK_FEATURES], "marks_valid": [batch, MAX_MARKS],
            "pick_text": [batch, TEXT_FEATURES], "place_text": [batch, TEXT_FEATURES], "camera": [batch, N_CAMERA],
            "proprio": [batch, N_PROPRIO], "pick_choice": [batch, MAX_MARKS], "place_choice": [batch, MAX_MARKS],
            "relation_choice": [batch, N_REL]}


def output_shapes(batch: int | str = "batch") -> dict[str, list[int | str]]:
    return {"pick_logits": [batch, MAX_MARKS], "place_logits": [batch, MAX_MARKS],
            "relation_logits": [batch, N_REL], "contact_logit": [batch, 1], "action": [batch, 7]}


class SpatialPolicyNet(nn.Module):
    def __init__(self, mark_mean: np.ndarray, mark_std: np.ndarray, config: NetConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or NetConfig()
        d = cfg.d_model
        self.register_buffer("mark_mean", torch.as_tensor(mark_mean, dtype=torch.float32))
        self.register_buffer("mark_std", torch.as_tensor(np.maximum(mark_std, 1e-3), dtype=torch.float32))
        self.cnn = nn.Sequential(
            nn.Conv2d(4, 16, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.mark_in = nn.Sequential(nn.Linear(N_MARK_FEATURES, d), nn.ReLU(), nn.Linear(d, d))
        self.text_in = nn.Linear(TEXT_FEATURES, d)
        self.role = nn.Parameter(torch.zeros(2, d))  # pick / place query
        self.cam_in = nn.Linear(N_CAMERA, d)
        layer = nn.TransformerEncoderLayer(d, cfg.heads, dim_feedforward=2 * d, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.score = nn.Linear(d, d)
        self.relation = nn.Sequential(nn.Linear(2 * d, d), nn.ReLU(), nn.Linear(d, N_REL))
        n_phase = len(PHASES)
        # which anchor a phase moves relative to: the pick object until it is held and lifted, then the place
        place_phases = {"carry", "place", "release", "retreat"}
        self.register_buffer("phase_to_place", torch.tensor([[1.0 if p.value in place_phases else 0.0] for p in PHASES]))
        # the robot's own left and forward (toward the camera side) on the table, for robot-view relations
        self.register_buffer("robot_left", torch.tensor([0.0, 1.0]))
        self.register_buffer("robot_toward", torch.tensor([-1.0, 0.0]))
        self.rel_scale = nn.Parameter(torch.full((N_REL - 1,), 0.1))
        ctx = n_phase + 2 * N_MARK_FEATURES + N_REL + 1
        self.offset = nn.Sequential(nn.Linear(ctx, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 3))
        self.yaw_gate = nn.Sequential(nn.Linear(N_MARK_FEATURES, 32), nn.ReLU(), nn.Linear(32, 1))
        self.tilt = nn.Linear(6, 2)
        self.gripper = nn.Linear(n_phase, 1)
        self.contact = nn.Sequential(nn.Linear(n_phase + 1 + N_MARK_FEATURES + 1 + 32, 64), nn.ReLU(), nn.Linear(64, 1))

    # -- grounding ----------------------------------------------------------------------------
    def ground(self, marks: torch.Tensor, valid: torch.Tensor, pick_text: torch.Tensor, place_text: torch.Tensor,
               camera: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, d = marks.shape[0], self.config.d_model
        m = self.mark_in((marks - self.mark_mean) / self.mark_std)                       # B,K,d
        q = torch.stack([self.text_in(pick_text) + self.role[0], self.text_in(place_text) + self.role[1]], 1)  # B,2,d
        cam = self.cam_in(camera).unsqueeze(1)                                            # B,1,d
        seq = torch.cat([q.reshape(2 * b, 1, -1), cam.repeat_interleave(2, 0), m.repeat_interleave(2, 0)], 1)
        pad = torch.cat([torch.zeros(2 * b, 2, dtype=torch.bool, device=marks.device),
                         (valid < 0.5).repeat_interleave(2, 0)], 1)
        out = self.encoder(seq, src_key_padding_mask=pad)
        q_out, m_out = out[:, :1], out[:, 2:]
        logits = (self.score(m_out) * q_out).sum(-1) / d ** 0.5                          # 2B,K
        logits = torch.where(valid.repeat_interleave(2, 0) > 0.5, logits, torch.full_like(logits, _MASKED))
        logits = logits.reshape(b, 2, -1)
        q_both = q_out.reshape(b, 2, -1)
        rel = self.relation(torch.cat([q_both[:, 1], self.text_in(place_text)], -1))
        return logits[:, 0], logits[:, 1], rel

    # -- acting ------------------------------------------------------------------------------
    def act(self, marks: torch.Tensor, camera: torch.Tensor, proprio: torch.Tensor, img_feat: torch.Tensor,
            pick_w: torch.Tensor, place_w: torch.Tensor, rel_p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        phase = proprio[:, _PHASE0:_PHASE0 + len(PHASES)]
        tcp, rot6 = proprio[:, 0:3], proprio[:, 3:9]
        width = proprio[:, 9:10]
        pick = torch.einsum("bk,bkf->bf", pick_w, marks)
        place = torch.einsum("bk,bkf->bf", place_w, marks)
        pick_n = (pick - self.mark_mean) / self.mark_std
        place_n = (place - self.mark_mean) / self.mark_std
        # anchors: the pick object's top-face centre; the place mark's centre moved along the relation
        pick_anchor = pick[:, list(IDX_TOP)]
        right, toward, robot_view = camera[:, 0:2], camera[:, 2:4], camera[:, 4:5]
        left = -(1 - robot_view) * right + robot_view * self.robot_left
        front = (1 - robot_view) * toward + robot_view * self.robot_toward
        dirs = torch.stack([left, -left, front, -front, left], 1)                         # B,R-1,2
        shift = torch.einsum("br,brc->bc", rel_p[:, 1:] * self.rel_scale, dirs)
        place_anchor = torch.cat([place[:, 0:2] + shift, torch.zeros_like(shift[:, :1])], 1)
        to_place = phase @ self.phase_to_place                                            # B,1
        ctx = torch.cat([phase, pick_n, place_n, rel_p, width * 10.0], 1)
        goal = (1 - to_place) * pick_anchor + to_place * place_anchor + 0.2 * self.offset(ctx)
        delta = goal - tcp
        norm = torch.sqrt((delta * delta).sum(-1, keepdim=True) + 1e-12)
        delta = delta * torch.clamp(cfg.max_translation_m / norm, max=1.0)
        # yaw: parallel jaws are pi-symmetric, so work with doubled angles
        gate = torch.sigmoid(self.yaw_gate(pick_n))
        axis = pick[:, list(IDX_AXIS)]
        gc = gate * axis[:, 0:1] + (1 - gate)
        gs = gate * axis[:, 1:2]
        c, s = rot6[:, 0:1], rot6[:, 1:2]
        tc, ts = c * c - s * s, 2 * c * s
        dyaw = 0.5 * torch.atan2(gs * tc - gc * ts, gc * tc + gs * ts)
        dyaw = torch.clamp(dyaw, -cfg.max_rotation_rad, cfg.max_rotation_rad)
        tilt = cfg.max_rotation_rad * torch.tanh(self.tilt(rot6))
        grip = torch.sigmoid(self.gripper(phase))
        action = torch.cat([delta, tilt, dyaw, grip], 1)
        rel_z = tcp[:, 2:3] - pick_anchor[:, 2:3]
        contact = self.contact(torch.cat([phase, width * 10.0, pick_n, rel_z * 10.0, img_feat], 1))
        return action, contact

    def forward(self, image: torch.Tensor, marks: torch.Tensor, marks_valid: torch.Tensor, pick_text: torch.Tensor,
                place_text: torch.Tensor, camera: torch.Tensor, proprio: torch.Tensor,
                teacher: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """teacher: (pick one-hot, place one-hot, relation one-hot) to drive the action head with
        the true marks during training; at run time the network's own choices are used."""
        pick_logits, place_logits, rel_logits = self.ground(marks, marks_valid, pick_text, place_text, camera)
        if teacher is None:  # hard choices: a blend of two objects' anchors is a point between them
            pick = nn.functional.one_hot(pick_logits.argmax(-1), pick_logits.shape[-1]).to(marks.dtype)
            place = nn.functional.one_hot((place_logits + _MASKED * pick).argmax(-1), place_logits.shape[-1])
            rel = nn.functional.one_hot(rel_logits.argmax(-1), rel_logits.shape[-1]).to(marks.dtype)
            sel = (pick, place.to(marks.dtype), rel)
        else:
            sel = teacher
        img_feat = self.cnn(image)
        action, contact = self.act(marks, camera, proprio, img_feat, *sel)
        return pick_logits, place_logits, rel_logits, contact, action


class ChoiceDrivenPolicy(nn.Module):
    """The graph that ships: SpatialPolicyNet whose action head follows given one-hot choices
    (pick mark, place mark, relation). An all-zero choice row means "the network's own argmax", so
    the first step of an episode can read the grounding heads before anything is chosen."""

    def __init__(self, net: SpatialPolicyNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, marks: torch.Tensor, marks_valid: torch.Tensor, pick_text: torch.Tensor,
                place_text: torch.Tensor, camera: torch.Tensor, proprio: torch.Tensor, pick_choice: torch.Tensor,
                place_choice: torch.Tensor, relation_choice: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        pick_logits, place_logits, rel_logits = self.net.ground(marks, marks_valid, pick_text, place_text, camera)
        own_pick = nn.functional.one_hot(pick_logits.argmax(-1), pick_logits.shape[-1]).to(marks.dtype)
        pick = _given_or(pick_choice, own_pick)
        own_place = nn.functional.one_hot((place_logits + _MASKED * pick).argmax(-1), place_logits.shape[-1])
        place = _given_or(place_choice, own_place.to(marks.dtype))
        own_rel = nn.functional.one_hot(rel_logits.argmax(-1), rel_logits.shape[-1]).to(marks.dtype)
        rel = _given_or(relation_choice, own_rel)
        action, contact = self.net.act(marks, camera, proprio, self.net.cnn(image), pick, place, rel)
        return pick_logits, place_logits, rel_logits, contact, action


def _given_or(choice: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    given = (choice.sum(-1, keepdim=True) > 0.5).to(own.dtype)
    return given * choice + (1 - given) * own
