"""The learned policy's mark features of a fixed scene are what they were before object kinds moved
into the registry: the shipped ONNX model was trained on these columns (perceived-shape one-hot, not
kinds), so a change here would silently change its inputs."""

import numpy as np
import pytest

from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame
from spatialbot_ros.core.instruction_templates import marks_from_facts
from spatialbot_ros.core.object_kinds import PERCEIVED_SHAPES
from spatialbot_ros.policy.learned_features import N_MARK_FEATURES, SHAPES, mark_features
from spatialbot_ros.sim.scene_generator import generate_scene, to_facts

pytestmark = pytest.mark.core

# recorded from the tables before the registry (generate_scene(7), ideal marks, blank frame), 4 decimals
GOLDEN = [
    [0.671500027179718, -0.24740000069141388, 0.03099999949336052, 0.0, 0.0, 0.06199999898672104, 0.06199999898672104, 0.06199999898672104, 0.06199999898672104, 1.0, 0.0, -0.0005000000237487257, 0.0003000000142492354, 0.7982000112533569, 0.7156000137329102, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    [0.34450000524520874, -0.23839999735355377, 0.05389999970793724, 0.0, 0.0, 0.10779999941587448, 0.06849999725818634, 0.06849999725818634, 0.10779999941587448, 1.0, 0.0, -0.00039999998989515007, -0.0003000000142492354, 1.0130000114440918, 0.4189999997615814, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.6383000016212463, -0.02539999969303608, 0.04050000011920929, 0.0, 0.0, 0.08110000193119049, 0.060499999672174454, 0.03610000014305115, 0.08110000193119049, 1.0, 0.0, -9.999999747378752e-05, 0.00019999999494757503, 0.7735000252723694, 0.6388000249862671, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    [0.5254999995231628, -0.02199999988079071, 0.027300000190734863, 0.0, 0.0, 0.05460000038146973, 0.05460000038146973, 0.05460000038146973, 0.05460000038146973, 1.0, 0.0, -0.0, -0.0, 0.861299991607666, 0.5260000228881836, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    [0.38040000200271606, 0.1940000057220459, 0.055799998342990875, 0.0, 0.0, 0.11150000244379044, 0.05550000071525574, 0.05550000071525574, 0.11150000244379044, 1.0, 0.0, 0.0003000000142492354, -0.0003000000142492354, 0.973800003528595, 0.4269999861717224, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.4424000084400177, 0.31209999322891235, 0.031099999323487282, 0.0, 0.0, 0.062300000339746475, 0.043800000101327896, 0.042100001126527786, 0.062300000339746475, 1.0, 0.0, 0.0005000000237487257, -9.999999747378752e-05, 0.972100019454956, 0.5414000153541565, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
]


def test_mark_features_of_a_fixed_scene_are_unchanged() -> None:
    scene = generate_scene(7)
    bfc = scene.camera.base_from_camera()
    marks = marks_from_facts(to_facts(scene.objects), bfc)
    frame = RGBDFrame(np.zeros((480, 640, 3), np.uint8), np.zeros((480, 640), np.uint16),
                      CameraIntrinsics.from_hfov(640, 480, 69.0))
    feats, valid = mark_features(marks, frame, bfc)
    assert N_MARK_FEATURES == 33 and int(valid.sum()) == len(GOLDEN)
    np.testing.assert_allclose(feats[: len(GOLDEN)], np.array(GOLDEN), atol=1e-4)
    assert not feats[len(GOLDEN):].any()


def test_the_shape_one_hot_is_the_fixed_perception_vocabulary() -> None:
    assert SHAPES == PERCEIVED_SHAPES == ("cylinder", "box", "sphere", "bowl", "plate", "unknown")
