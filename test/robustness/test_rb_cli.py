"""The command line: every expected failure is one line on stderr with its exit code; only a bug
prints a traceback (with where to report it), and --debug shows the traceback of anything."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hostile import VALID_SCENE, billion_laughs_yaml, write

from spatialbot_ros.cli import POLICY_NAMES, UP_PROFILES, ExitCode, main
from spatialbot_ros.core.errors import MAX_MESSAGE_CHARS


def _one_line(capsys, argv: list[str], code: int) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.replace("\r", "\n").splitlines() if ln.strip() and "%|" not in ln]  # minus progress bars
    assert rc == code, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert len(lines[0]) <= MAX_MESSAGE_CHARS + 20
    return lines[0]


HUGE = "9" * 100_000
ARG_CASES = [
    (["eval", "--episodes", "0"], "at least 1"),                      # issue 17: exited 0 with an empty report
    (["eval", "--episodes", "-3"], "at least 1"),                     # issue 17: a numpy message
    (["eval", "--episodes", "-999999999999"], "at least 1"),
    (["eval", "--episodes", "abc"], "whole number"),
    (["eval", "--episodes", "1.5"], "whole number"),
    (["eval", "--episodes", ""], "whole number"),
    (["eval", "--episodes", HUGE], "implausibly large"),
    (["eval", "--episodes", "1e3"], "whole number"),
    (["eval", "--seed", "-1"], "at least 0"),
    (["eval", "--seed", "nan"], "whole number"),
    (["eval", "--phrasing", "klingon"], "invalid choice"),
    (["eval", "--policy", "gpt9"], "unknown policy 'gpt9'; available: geometric"),
    (["eval", "--bogus"], "unrecognized"),
    (["eval", "--episodes"], "expected one argument"),
    (["demo", "--policy", "x" * 5000], "unknown policy"),
    (["scenes", "--n", "0"], "at least 1"),
    (["scenes", "--n", "-7"], "at least 1"),
    (["demos"], "required"),
    (["demos", "--out", "x", "--episodes", "0"], "at least 1"),
    (["demos", "--out", "x", "--workers", "0"], "at least 1"),
    (["demos", "--out", "x", "--camera-jitter", "nan"], "finite"),
    (["demos", "--out", "x", "--camera-jitter", "inf"], "finite"),
    (["demos", "--out", "x", "--camera-jitter", "-0.1"], "finite"),
    (["demos", "--out", "x", "--camera-jitter", "1e9"], "finite"),
    (["demos", "--out", "x", "--extra-instructions", "-1"], "at least 0"),
    (["demos", "--out", "x", "--grounding-scenes", "-1"], "at least 0"),
    (["train", "--data", "d", "--out", "o", "--epochs", "0"], "at least 1"),
    (["train", "--data", "d", "--out", "o", "--max-minutes", "nan"], "finite"),
    (["train", "--data", "d", "--out", "o", "--max-minutes", "-5"], "finite"),
    (["train", "--out", "o"], "required"),
    (["export"], "required"),
    (["spatial-qa", "--n", "0"], "at least 1"),
    (["spatial-qa", "--n", "-50"], "at least 1"),
    (["up"], "required"),
    (["up", "sim", "--duration", "nan"], "finite"),
    (["up", "bogus"], "invalid choice"),
    (["up", "sim", "--duration", "-1"], "finite"),
    ([], "required"),
    (["fly"], "invalid choice"),
    (["--verbose", "fly"], "invalid choice"),
    (["eval", "--episodes", "\x00\x01"], "whole number"),
    (["eval", "--episodes", "١٢"], None),  # Arabic-Indic digits: int() accepts them; no crash either way
]


@pytest.mark.core
@pytest.mark.surface("cli_args")
@pytest.mark.parametrize("argv,match", ARG_CASES, ids=[" ".join(a)[:40] for a, _ in ARG_CASES])
def test_bad_arguments_are_one_line(capsys, argv, match, monkeypatch):
    if match is None:  # accepted: make sure it would not run anything heavy
        monkeypatch.setattr("spatialbot_ros.cli._cmd_eval", lambda args: 0)
        assert main(argv) == 0
        return
    line = _one_line(capsys, argv, ExitCode.USAGE)
    assert match in line and "--help" in line


@pytest.mark.core
@pytest.mark.surface("cli_args")
def test_help_lists_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for code in ExitCode:
        assert f"  {code.value:<4}" in out


@pytest.mark.core
@pytest.mark.surface("cli_args")
def test_policy_choices_match_the_registry():
    from spatialbot_ros.policy.registry import BUILTIN_BACKENDS

    assert tuple(sorted(BUILTIN_BACKENDS)) == POLICY_NAMES


@pytest.mark.core
@pytest.mark.surface("cli_args")
def test_up_profiles_match_graph_up():
    from spatialbot_ros.graph_up import PROFILES

    assert tuple(PROFILES) == UP_PROFILES


SCENE_FILES = {
    "overflow_int.yaml": "name: a\ninstruction: x\nexpected: {pick: c}\n"
                         f"objects: [{{name: c, kind: cup, color: red, position: [{'9' * 400}, 0]}}]\n",
    "mixed_keys.yaml": "{1: a, name: b}\n",
    "deep.yaml": "name: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep.json": "[" * 100_000 + "]" * 100_000,
    "bomb.yaml": billion_laughs_yaml(),
    "binary.yaml": bytes(range(256)) * 8,
    "relation.yaml": yaml.safe_dump({**VALID_SCENE, "expected": {"pick": "red_cup", "place_point": [0.5, 0],
                                                                "relation": "inside_out"}}),
    "category.yaml": yaml.safe_dump({**VALID_SCENE, "category": "telepathy"}),
    "list.yaml": "- 1\n- 2\n",
    "empty.yaml": "",
    "garbage.json": "{not json",
}


@pytest.mark.core
@pytest.mark.surface("cli_files")
@pytest.mark.parametrize("command", ["demo", "eval", "ground"])
@pytest.mark.parametrize("name", sorted(SCENE_FILES) + ["<missing>", "<directory>"])
def test_bad_scene_file_through_the_cli(tmp_path, capsys, command, name):
    if name == "<missing>":
        path = tmp_path / "missing.yaml"
    elif name == "<directory>":
        path = tmp_path
    else:
        path = write(tmp_path / name, SCENE_FILES[name])
    flag = "--scenes" if command == "eval" else "--scene"
    line = _one_line(capsys, [command, flag, str(path), *(["--out", str(tmp_path / "o")] if command != "ground" else [])],
                     ExitCode.BAD_INPUT)
    assert str(path) in line


CONFIG_FILES = {
    "bomb.yaml": billion_laughs_yaml(),
    "list.yaml": "- a\n- b\n",
    "binary.yaml": b"\x00\xff" * 100,
    "deep.yaml": "a: " + "[" * 3000 + "]" * 3000,
    "huge.yaml": "a: " + "x" * (2 * 2**20),
    "bad.yaml": "a: [b\n",
    "section_not_map.yaml": "openai: 42\n",
}


@pytest.mark.core
@pytest.mark.surface("config_files")
@pytest.mark.parametrize("command", ["eval", "spatial-qa"])
@pytest.mark.parametrize("name", sorted(CONFIG_FILES) + ["<missing>"])
def test_bad_backend_config_through_the_cli(tmp_path, capsys, command, name):
    path = tmp_path / "missing.yaml" if name == "<missing>" else write(tmp_path / name, CONFIG_FILES[name])
    argv = [command, "--policy", "openai", "--backend-config", str(path), "--out", str(tmp_path / "o")]
    if command == "eval":
        argv += ["--episodes", "1"]
    rc = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert rc in (ExitCode.BAD_INPUT, ExitCode.USAGE), err   # policy_options refusals keep their exit 2
    assert str(path) in lines[0] or "backend_config" in lines[0]


@pytest.mark.core
@pytest.mark.surface("cli_files")
@pytest.mark.parametrize("out", ["file", "under_file", "sys"])
@pytest.mark.parametrize("command", ["eval", "spatial-qa", "demos", "demo", "scenes"])
def test_unwritable_out_is_found_before_the_first_episode(tmp_path, capsys, monkeypatch, out, command):
    """issue 17: an unwritable --out was found only after every episode had run."""
    _unwritable_out_is_found_first(tmp_path, capsys, monkeypatch, out, command)


@pytest.mark.sim  # `train` imports torch before it looks at --out
@pytest.mark.surface("cli_files")
@pytest.mark.parametrize("out", ["file", "under_file", "sys"])
def test_unwritable_out_is_found_before_training(tmp_path, capsys, monkeypatch, out):
    _unwritable_out_is_found_first(tmp_path, capsys, monkeypatch, out, "train")


def _unwritable_out_is_found_first(tmp_path, capsys, monkeypatch, out, command):
    # import the modules that bind these names first: a module first imported while a name it imports
    # is patched keeps the patch for the rest of the session (the demo test then ran a lambda)
    for module in ("spatialbot_ros.apps.evaluate", "spatialbot_ros.apps.demo", "spatialbot_ros.cli"):
        importlib.import_module(module)
    ran = []
    monkeypatch.setattr("spatialbot_ros.apps.episode.run_episode", lambda *a, **k: ran.append(1))
    monkeypatch.setattr("spatialbot_ros.apps.spatial_qa.generate_qa", lambda *a, **k: ran.append(1) or [])
    monkeypatch.setattr("spatialbot_ros.learn.demos._collect_seed", lambda *a, **k: ran.append(1))
    monkeypatch.setattr("spatialbot_ros.apps.demo.run_demo", lambda *a, **k: ran.append(1))
    if command == "train":  # patching it imports torch
        monkeypatch.setattr("spatialbot_ros.learn.train.train", lambda *a, **k: ran.append(1))
    f = write(tmp_path / "f", "x")
    path = {"file": f, "under_file": f / "sub", "sys": Path("/sys/spatialbot_out")}[out]
    extra = {"demos": ["--episodes", "1", "--workers", "1"], "train": ["--data", str(tmp_path)],
             "scenes": ["--n", "1"]}
    argv = [command, "--out", str(path), *extra.get(command, [])]
    if command == "eval":
        argv += ["--episodes", "1"]
    line = _one_line(capsys, argv, ExitCode.FILE_ERROR)
    assert str(path) in line and not ran


@pytest.mark.core
@pytest.mark.surface("cli_files")
@pytest.mark.parametrize("argv,module", [(["train", "--data", "d", "--out", "o"], "torch"),
                                         (["export", "--model-dir", "m"], "torch"),
                                         (["demos", "--out", "OUT", "--episodes", "1", "--workers", "1"], "pyarrow")])
def test_missing_optional_package_is_one_line(tmp_path, capsys, monkeypatch, argv, module):
    monkeypatch.setitem(sys.modules, module, None)  # import raises ModuleNotFoundError, as when not installed
    if module == "pyarrow":
        monkeypatch.setattr("spatialbot_ros.learn.demos._collect_seed", lambda job: _fake_episode())
    argv = [a.replace("OUT", str(tmp_path / "o")) for a in argv]
    line = _one_line(capsys, argv, ExitCode.MISSING_PACKAGE)
    assert f"'{module}'" in line and "pip install" in line


def _fake_episode():
    import numpy as np

    from spatialbot_ros.learn.demos import DEMO_FEATURES, _Episode

    ep = _Episode("pick the cup", meta={"seed": 1})
    for k, f in DEMO_FEATURES.items():
        shape = (*f.shape, 3) if f.dtype == "video" and len(f.shape) == 2 else f.shape
        ep.frames[k] = [np.zeros(shape, np.uint16 if f.dtype == "depth_video" else np.float32)] * 2
    return ep


@pytest.mark.core
@pytest.mark.surface("cli_files")
def test_internal_error_prints_a_traceback_and_where_to_report(capsys, monkeypatch):
    monkeypatch.setattr("spatialbot_ros.cli._cmd_scenes", lambda args: [][1])
    assert main(["scenes"]) == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "IndexError" in err
    last = err.strip().splitlines()[-1]
    assert "internal error" in last and "report" in last


@pytest.mark.core
@pytest.mark.surface("cli_files")
def test_debug_shows_the_traceback_of_an_expected_error(tmp_path):
    from spatialbot_ros.sim.scene import SceneError

    with pytest.raises(SceneError):
        main(["--debug", "demo", "--scene", str(tmp_path / "missing.yaml")])


@pytest.mark.core
@pytest.mark.surface("cli_files")
def test_interrupt_is_one_line_and_says_what_was_kept(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("spatialbot_ros.cli._cmd_eval", interrupted)
    line = _one_line(capsys, ["eval", "--out", str(tmp_path)], ExitCode.INTERRUPTED)
    assert str(tmp_path) in line and "--resume" in line and "0 of ? episodes" in line
    (tmp_path / "run.json").write_text('{"episodes": 5}')
    (tmp_path / "episodes.jsonl").write_text('{"index": 0, "scene": "a"}\n{"index": 1, "scene": "b"}\n{"ind')
    line = _one_line(capsys, ["eval", "--out", str(tmp_path)], ExitCode.INTERRUPTED)
    assert "2 of 5 episodes kept" in line


@pytest.mark.core
@pytest.mark.surface("cli_files")
def test_grounding_failure_is_task_failed_not_a_crash(capsys, monkeypatch):
    from spatialbot_ros.core.errors import TaskFailedError

    def nothing(args):
        raise TaskFailedError("the expert solved none of the scenes; nothing to write")

    monkeypatch.setattr("spatialbot_ros.cli._cmd_demos", nothing)
    assert "solved none" in _one_line(capsys, ["demos", "--out", "x"], ExitCode.TASK_FAILED)


# ---- the real console entry point, in a fresh process (full suite: ~2 s of imports each) ----------

SUBPROCESS_CASES = [
    (["eval", "--episodes", "0"], ExitCode.USAGE, None),
    (["demo", "--scene", "{overflow_int.yaml}"], ExitCode.BAD_INPUT, None),
    (["demo", "--scene", "{mixed_keys.yaml}"], ExitCode.BAD_INPUT, None),
    (["demo", "--scene", "{deep.yaml}"], ExitCode.BAD_INPUT, None),
    (["demo", "--scene", "{binary.yaml}"], ExitCode.BAD_INPUT, None),
    (["eval", "--scenes", "{bomb.yaml}", "--out", "{out}"], ExitCode.BAD_INPUT, 5.0),
    (["eval", "--out", "{file}"], ExitCode.FILE_ERROR, None),
]


@pytest.mark.core
@pytest.mark.robustness_full
@pytest.mark.surface("cli_files")
@pytest.mark.parametrize("argv,code,bound_s", SUBPROCESS_CASES, ids=[" ".join(a)[:30] for a, _, _ in SUBPROCESS_CASES])
def test_console_failures_have_no_traceback(tmp_path, argv, code, bound_s):
    import time

    for name, text in SCENE_FILES.items():
        write(tmp_path / name, text)
    write(tmp_path / "file", "x")
    subs = {**{n: str(tmp_path / n) for n in SCENE_FILES}, "out": str(tmp_path / "o"), "file": str(tmp_path / "file")}
    argv = [subs[a.strip("{}")] if a.startswith("{") else a for a in argv]
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "spatialbot_ros.cli", *argv], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == code, p.stderr
    assert "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("spatialbot-ros")
    if bound_s:
        assert time.perf_counter() - t0 < bound_s + 10  # imports included; the refusal itself is < 1 s
