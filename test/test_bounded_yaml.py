"""core.bounded_yaml: limits are exact (a file at the limit loads, one node more is refused) and the
alias expansion is counted without building it."""

from __future__ import annotations

import pytest
import yaml

from spatialbot_ros.core.bounded_yaml import InputLimits, load_structured_file, loads_structured
from spatialbot_ros.core.errors import InputFileError

pytestmark = pytest.mark.core


def _nodes(v) -> int:
    """Nodes as the loader counts them: every key, value and collection, aliases expanded."""
    if isinstance(v, dict):
        return 1 + sum(1 + _nodes(x) for x in v.values())
    if isinstance(v, list):
        return 1 + sum(_nodes(x) for x in v)
    return 1


@pytest.mark.parametrize("doc", ["a: [1, 2, {b: 3}]", "x: &x [1, 2, 3]\ny: [*x, *x]\n",
                                 "- &a {k: [1, 2]}\n- *a\n- [*a, *a]\n", "s: &s hello\nt: [*s, *s, *s]\n"])
def test_node_limit_is_exact_with_aliases_expanded(doc):
    n = _nodes(yaml.safe_load(doc))
    assert loads_structured(doc, "d.yaml", limits=InputLimits(max_nodes=n)) == yaml.safe_load(doc)
    with pytest.raises(InputFileError, match=f"more than {n - 1} values"):
        loads_structured(doc, "d.yaml", limits=InputLimits(max_nodes=n - 1))


def test_depth_and_alias_limits_are_exact():
    assert loads_structured("a: " + "[" * 31 + "]" * 31, "d.yaml") is not None
    with pytest.raises(InputFileError, match="deeper than 32"):
        loads_structured("a: " + "[" * 32 + "]" * 32, "d.yaml")
    with pytest.raises(InputFileError, match="deeper than 32"):
        loads_structured('{"a": ' + "[" * 32 + "]" * 32 + "}", "d.json", "json")
    ok = "x: &x 1\ny: [" + ", ".join(["*x"] * 64) + "]\n"
    assert len(loads_structured(ok, "d.yaml")["y"]) == 64
    with pytest.raises(InputFileError, match="more than 64 YAML aliases"):
        loads_structured(ok.replace("]", ", *x]"), "d.yaml")


def test_size_limit_reads_no_more_than_it_allows(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("a: " + "x" * 2000)
    assert load_structured_file(p, InputLimits(max_bytes=2003))["a"] == "x" * 2000
    with pytest.raises(InputFileError, match="larger than"):
        load_structured_file(p, InputLimits(max_bytes=2002))


def test_non_string_keys_are_refused_where_field_names_are_expected():
    with pytest.raises(InputFileError, match="key 1 .* int"):
        loads_structured("{1: a}", "d.yaml")
    assert loads_structured("{1: a}", "d.yaml", limits=InputLimits(string_keys=False)) == {1: "a"}
