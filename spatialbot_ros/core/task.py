"""Shared vocabulary of the pick-and-place task: the phases the executive walks through (named
after what the robot does) and the reasons an attempt can fail."""

from __future__ import annotations

import enum


class TaskPhase(enum.Enum):
    APPROACH = "approach"            # move above the object (pre-grasp)
    DESCEND = "descend"              # straight down to the grasp pose
    CHECK_CONTACT = "check_contact"  # depth check: object between the open fingers, not yet touched
    CLOSE = "close"                  # close the gripper; depth check: fingers touch the object
    LIFT = "lift"
    VERIFY = "verify"                # object left the table and is held
    CARRY = "carry"                  # move above the place target
    PLACE = "place"                  # lower onto the support / target point
    RELEASE = "release"
    RETREAT = "retreat"
    DONE = "done"


class FailureReason(enum.Enum):
    NONE = "none"
    BAD_INPUT = "bad_input"                  # malformed frame / instruction / goal
    GROUNDING_FAILED = "grounding_failed"    # instruction ambiguous or matches nothing
    NO_GRASP = "no_grasp"                    # object too wide / too few points
    UNREACHABLE = "unreachable"              # IK / planning failed
    SAFETY_REFUSED = "safety_refused"        # a safety limit refused the motion
    MOTION_FAILED = "motion_failed"          # the arm did not track the commanded motion (collision, load)
    CONTACT_CHECK_FAILED = "contact_check_failed"  # object not between the fingers before closing
    GRASP_MISSED = "grasp_missed"            # fingers closed on nothing
    LIFT_FAILED = "lift_failed"              # object did not leave the table / slipped
    PLACE_FAILED = "place_failed"
    STALE_FRAME = "stale_frame"              # watchdog: camera frames stopped
    ESTOP = "estop"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    POLICY_ERROR = "policy_error"            # backend output unusable
    DRY_RUN = "dry_run"                      # real robot not armed: every command validated, none sent
    ROBOT_NOT_READY = "robot_not_ready"      # the robot cannot take commands (program stopped, no driver)
    REJECTED = "rejected"                    # another goal is running: this one was not started
    INTERNAL_ERROR = "internal_error"        # an unexpected exception inside the executive (a bug): stopped
