"""ament_python package definition; also installs with plain pip (see scripts/setup.sh)."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "spatialbot_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.rviz") + glob("config/*.xml")),
        (f"share/{PACKAGE}/urdf", glob("urdf/*")),
        (f"share/{PACKAGE}/scenes", glob("scenes/*.yaml")),
    ],
    package_data={PACKAGE: ["data/*", "data/**/*", "models/*/*"]},
    include_package_data=True,
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="spatialbot_ros maintainers",
    maintainer_email="maintainers@spatialbot-ros.dev",
    description="Language-driven UR5 pick-and-place with a spatial VLM policy over RGB-D.",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "spatialbot-ros = spatialbot_ros.cli:main",
            "realsense_camera = spatialbot_ros.nodes.realsense_camera:main",
            "spatial_policy = spatialbot_ros.nodes.spatial_policy:main",
            "mujoco_sim = spatialbot_ros.nodes.mujoco_sim:main",
            "maniskill_sim = spatialbot_ros.nodes.maniskill_sim:main",
            "pick_place = spatialbot_ros.nodes.pick_place:main",
            "teleop_collect = spatialbot_ros.nodes.teleop_collect:main",
            "ur_driver_emulator = spatialbot_ros.nodes.ur_driver_emulator:main",
            "tf_publisher = spatialbot_ros.nodes.tf_publisher:main",
        ],
    },
)
