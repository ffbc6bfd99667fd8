from __future__ import annotations

import json

from tether_hooks import bounds, lifecycle


def nested(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = {"k": [value]} if levels % 2 else [value]
    return value


def test_depth_measures_without_recursion_and_stops_early() -> None:
    assert [bounds.depth(v) for v in (1, "x", {}, [[]], {"a": [{"b": 1}]})] == [0, 0, 1, 2, 3]
    assert bounds.depth(nested(100_000), 64) == 65  # far past the recursion limit


def test_bounded_cuts_strings_depth_and_items_and_says_so() -> None:
    value, cut = bounds.bounded({"s": "xx yyyyyyyy", "deep": [[[[1]]]], "many": list(range(5))},
                                max_depth=3, chars=4, items=3)
    assert cut and value == {"s": "xx \n… [8 more characters]",  # the cut word left out whole
                             "deep": [["[list nested too deep: not kept]"]], "many": [0, 1, 2]}
    assert bounds.bounded(["x" * 10], chars=4) == (["\n… [10 more characters]"], True)
    same = {"a": [1, "b", None, True, 2.5]}
    assert bounds.bounded(same) == (same, False)


def test_cap_input_never_fails_on_a_deep_input() -> None:
    capped, cut = lifecycle.cap_input({"x": nested(5000)})
    assert cut and bounds.depth(capped) <= lifecycle.INPUT_DEPTH + 1


def test_lone_surrogates_survive_a_round_trip_as_json_escapes() -> None:
    value = {"tool": "a\ud800b", "k\udfff": ["\udc80"]}
    blob = bounds.dumps_bytes(value)
    blob.decode("utf-8")  # valid UTF-8
    assert json.loads(blob) == value
    assert bounds.printable("x\ud800") == "x\\ud800"
