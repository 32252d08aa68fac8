"""bridge.metadata.rules: user metadata rules from TOML/YAML applied to (path, fields)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bridge.metadata.read import read_metadata
from bridge.metadata.rules import RuleError, strip_rules
from bridge.metadata.rules_file import load_rules, parse_rules

EXAMPLE_TOML = """
# Clients from the folder name, and a technical tag for noisy Sony files.
[[rule]]
name = "wedding clients"
path = '/Weddings/(?P<client>[^/]+)/'
keywords = ["Clients|{client}"]

[[rule]]
name = "sony high iso"
when = { camera_model = "~ ^ILCE", iso = ">= 3200" }
set = { project = "Sony high ISO {camera_model}" }
keywords = ["Technical|High ISO"]
"""

EXAMPLE_YAML = """
rules:
  - name: wedding clients
    path: '/Weddings/(?P<client>[^/]+)/'
    keywords: ["Clients|{client}"]
  - name: sony high iso
    when:
      camera_model: "~ ^ILCE"
      iso: ">= 3200"
    set:
      project: "Sony high ISO {camera_model}"
    keywords: ["Technical|High ISO"]
"""

SONY = {"camera_model": "ILCE-7M3", "iso": 6400, "keywords": ["wedding", "Church"]}
WEDDING_PATH = "/photos/Weddings/Smith & Jones/ceremony/DSC0001.ARW"


def toml(text: str, **kwargs: Any):
    return parse_rules(text, "toml", source="rules.toml", **kwargs)


# --------------------------------------------------------------------------------------------
# Path rules and keywords
# --------------------------------------------------------------------------------------------


def test_path_group_becomes_hierarchical_keyword() -> None:
    rules = toml(EXAMPLE_TOML)
    out = rules.apply(WEDDING_PATH, {"keywords": ["wedding"]})
    assert out["keyword_paths"] == ["Clients|Smith & Jones"]
    assert out["keywords"] == ["wedding", "Smith & Jones"]
    assert out["rules_applied"] == ["wedding clients"]
    assert out["rules_version"] == rules.version


def test_path_that_does_not_match_adds_nothing() -> None:
    out = toml(EXAMPLE_TOML).apply("/photos/Holidays/IMG_1.JPG", {"iso": 100})
    assert out["rules_applied"] == []
    assert "keywords" not in out and "keyword_paths" not in out and "rules_undo" not in out


def test_windows_paths_are_matched_with_slashes() -> None:
    out = toml(EXAMPLE_TOML).apply(r"D:\Weddings\Lee\IMG_2.CR3", {})
    assert out["keyword_paths"] == ["Clients|Lee"]


def test_flat_keyword_and_empty_levels() -> None:
    rules = toml('[[rule]]\npath = "(?P<maybe>x)?/a/"\nkeywords = ["Plain", "Top|{maybe}|Leaf", "|"]')
    out = rules.apply("/a/b.jpg", {})
    assert out["keywords"] == ["Plain", "Leaf"]
    assert out["keyword_paths"] == ["Top|Leaf"]  # the unmatched optional group is empty: level dropped


def test_values_cannot_invent_hierarchy_levels() -> None:
    rules = toml('[[rule]]\nkeywords = ["Lens|{lens}"]')
    out = rules.apply("/x.jpg", {"lens": "A|B"})
    assert out["keyword_paths"] == ["Lens|A/B"]


# --------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------


def test_conditions_and_set_with_template() -> None:
    rules = toml(EXAMPLE_TOML)
    out = rules.apply("/photos/2024/DSC0001.ARW", SONY)
    assert out["project"] == "Sony high ISO ILCE-7M3"
    assert out["keyword_paths"] == ["Technical|High ISO"]
    assert out["keywords"] == ["wedding", "Church", "High ISO"]
    assert out["rules_applied"] == ["sony high iso"]
    low_iso = rules.apply("/photos/2024/DSC0001.ARW", {**SONY, "iso": 800})
    assert low_iso["rules_applied"] == [] and "project" not in low_iso
    canon = rules.apply("/photos/2024/IMG_1.CR3", {**SONY, "camera_model": "Canon EOS R5"})
    assert canon["rules_applied"] == []


FIELDS = {
    "camera_make": "Canon",
    "iso": 3200,
    "aperture": 2.8,
    "flash_fired": False,
    "rating": 4,
    "keywords": ["Bird", "Sky"],
    "captured_at": "2021-06-15T10:00:00",
    "lens": "RF100-500mm F4.5-7.1 L IS USM",
}


@pytest.mark.parametrize(
    ("condition", "fires"),
    [
        ('camera_make = "= canon"', True),  # text equality ignores case
        ('camera_make = "Canon"', True),  # bare text: equality
        ('camera_make = "!= Nikon"', True),
        ('camera_make = "= Nikon"', False),
        ('iso = "= 3200"', True),
        ("iso = 3200", True),
        ('iso = ">= 3200"', True),
        ('iso = "> 3200"', False),
        ('iso = "<= 3200"', True),
        ('iso = "< 1000"', False),
        ('aperture = "< 4"', True),
        ("flash_fired = false", True),
        ('flash_fired = "= true"', False),
        ('rating = ["4", 5]', True),  # any of
        ("rating = [1, 2]", False),
        ('keywords = "= sky"', True),  # list field: any element
        ('keywords = "~ ^Bi"', True),
        ('keywords = "!~ ^Fish"', True),
        ('keywords = "= Fish"', False),
        ('lens = "~ (?i)rf\\\\d+"', True),
        ('captured_at = ">= 2021-06-01"', True),
        ('captured_at = "> 2021-06-15"', False),  # compared at the precision written
        ('captured_at = "< 2021-07"', True),
        ('label = "missing"', True),
        ('label = "exists"', False),
        ('lens = "exists"', True),
        ('label = "!= Red"', True),  # a missing field is "not equal"
        ('label = "= Red"', False),
        ('label = "~ Red"', False),
        ('iso = ">= 100"', True),
        ('camera_model = ">= 5"', False),  # missing field: comparisons fail
    ],
)
def test_condition_operators(condition: str, fires: bool) -> None:
    rules = toml(f'[[rule]]\nname = "r"\nwhen = {{ {condition} }}\nkeywords = ["Hit"]')
    out = rules.apply("/a.jpg", FIELDS)
    assert (out["rules_applied"] == ["r"]) is fires, condition


def test_pseudo_fields_and_when_regex_groups() -> None:
    rules = toml(
        """
[[rule]]
name = "raw by body"
when = { extension = "~ ^(cr3|arw)$", camera_model = "~ ^ILCE-(?P<body>\\\\w+)" }
keywords = ["Bodies|Sony|{body}"]
set = { origin = "{file_name} in {folder}" }
"""
    )
    out = rules.apply("/shoot/DSC0001.ARW", SONY)
    assert out["keyword_paths"] == ["Bodies|Sony|7M3"]
    assert out["origin"] == "DSC0001.ARW in /shoot"


def test_rules_see_earlier_rules() -> None:
    rules = toml(
        """
[[rule]]
name = "tag"
when = { iso = ">= 3200" }
set = { noise = "high" }
[[rule]]
name = "follow-up"
when = { noise = "= high", rules_applied = "= tag" }
keywords = ["Noise|{noise}"]
"""
    )
    out = rules.apply("/a.jpg", SONY)
    assert out["rules_applied"] == ["tag", "follow-up"]
    assert out["keyword_paths"] == ["Noise|high"]


def test_missing_template_field_means_the_rule_does_not_fire() -> None:
    rules = toml('[[rule]]\nname = "lens tag"\nkeywords = ["Lens|{lens}"]')
    assert rules.apply("/a.jpg", {"iso": 100})["rules_applied"] == []
    assert rules.apply("/a.jpg", {"lens": "FE 35mm"})["keyword_paths"] == ["Lens|FE 35mm"]


def test_template_formats_values_and_braces() -> None:
    rules = toml('[[rule]]\nset = { note = "{{f/{aperture}}} at {iso} flash={flash_fired} kw={keywords}" }')
    out = rules.apply("/a.jpg", FIELDS)
    assert out["note"] == "{f/2.8} at 3200 flash=false kw=Bird, Sky"


def test_set_plain_values() -> None:
    rules = toml('[[rule]]\nset = { client_rating = 5, archived = true, tags = ["a", "b"] }')
    out = rules.apply("/a.jpg", {})
    assert (out["client_rating"], out["archived"], out["tags"]) == (5, True, ["a", "b"])


def test_disabled_rules_are_skipped() -> None:
    rules = toml('[[rule]]\nenabled = false\nkeywords = ["X"]\n[[rule]]\nname = "on"\nkeywords = ["Y"]')
    assert len(rules) == 1
    assert rules.apply("/a.jpg", {})["keywords"] == ["Y"]


# --------------------------------------------------------------------------------------------
# Idempotence and re-application
# --------------------------------------------------------------------------------------------


def test_apply_returns_new_dict_and_is_idempotent() -> None:
    rules = toml(EXAMPLE_TOML)
    original = copy.deepcopy(SONY)
    once = rules.apply(WEDDING_PATH, SONY)
    assert original == SONY, "input must not change"
    twice = rules.apply(WEDDING_PATH, once)
    assert twice == once
    assert once["keywords"] == ["wedding", "Church", "Smith & Jones", "High ISO"]
    assert once["rules_applied"] == ["wedding clients", "sony high iso"]
    json.dumps(once)  # the bookkeeping stays JSON-serializable


def test_existing_keywords_are_not_duplicated_or_removed() -> None:
    rules = toml('[[rule]]\nkeywords = ["Technical|High ISO", "church"]')
    fields = {"keywords": ["High ISO", "Church"], "keyword_paths": ["technical|high iso"]}
    out = rules.apply("/a.jpg", fields)
    assert out["keywords"] == ["High ISO", "Church"]
    assert out["keyword_paths"] == ["technical|high iso"]
    assert "rules_undo" not in out
    # Stripping must not remove keywords the photo already had.
    assert strip_rules(out) == fields


def test_reapplying_changed_rules_drops_old_effects() -> None:
    old = toml(EXAMPLE_TOML)
    stored = old.apply(WEDDING_PATH, {**SONY, "project": "Original project"})
    assert stored["project"] == "Sony high ISO ILCE-7M3"
    new = toml('[[rule]]\nname = "only"\nkeywords = ["Archive"]')
    assert new.version != old.version
    out = new.apply(WEDDING_PATH, stored)
    assert out["keywords"] == ["wedding", "Church", "Archive"]
    assert "keyword_paths" not in out
    assert out["project"] == "Original project"  # overwritten value restored
    assert out["rules_applied"] == ["only"]
    assert out == new.apply(WEDDING_PATH, {**SONY, "project": "Original project"})


def test_strip_rules_restores_the_original() -> None:
    fields = {**SONY, "project": "Mine"}
    applied = toml(EXAMPLE_TOML).apply(WEDDING_PATH, fields)
    assert strip_rules(applied) == fields


def test_rules_work_on_real_metadata(shared_data: Path) -> None:
    fields = read_metadata(shared_data / "jpeg" / "Canon_EOS_600D_IMG_5910.jpg")
    rules = toml(
        """
[[rule]]
name = "canon high iso"
when = { camera = "~ ^Canon", iso = ">= 3200", gps_lat = "exists" }
keywords = ["Technical|High ISO|{camera}"]
set = { place = "{city}, {country}" }
"""
    )
    out = rules.apply(str(shared_data / "jpeg" / "Canon_EOS_600D_IMG_5910.jpg"), fields)
    assert out["keyword_paths"][-1] == "Technical|High ISO|Canon EOS 600D"
    assert out["keywords"][-1] == "Canon EOS 600D"
    assert out["place"] == "Berkeley, United States"
    assert rules.apply(str(shared_data / "jpeg" / "Canon_EOS_600D_IMG_5910.jpg"), out) == out


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rule]]\nname = "a"\npath = "(("', "rule 1 ('a'): bad regex in 'path'"),
        ('[[rule]]\nwhen = { lens = "~ [" }', "rule 1 ('rule 1'): condition on 'lens': bad regex"),
        ('[[rule]]\nwhen = { iso = "=> 5" }', "unknown operator '=>'"),
        ('[[rule]]\nwhen = { iso = "<> 5" }', "unknown operator '<>'"),
        ('[[rule]]\nwhen = { iso = ">= lots" }', "'>=' needs a number or an ISO date"),
        (
            '[[rule]]\nkeywords = ["A"]\n[[rule]]\nname = "b"\nkeywords = ["Clients|{client}"]',
            "rule 2 ('b'): keywords: template",
        ),
        ('[[rule]]\npath = "/(?P<client>[^/]+)/"\nset = { x = "{clinet}" }', "names {clinet}"),
        ('[[rule]]\nwhen = { camera_modle = "x" }', "did you mean camera_model"),
        ('[[rule]]\nkeyword = ["x"]', "unknown key(s) ['keyword']"),
        ('[[rule]]\nset = { keywords = "x" }', "cannot change 'keywords'"),
        ('[[rule]]\nset = { rules_applied = "x" }', "cannot change 'rules_applied'"),
        ("[[rule]]\nset = { x = { a = 1 } }", "values are text, numbers"),
        ('[[rule]]\nkeywords = ["{"]', "unbalanced"),
        ('[[rule]]\nkeywords = ["{a b}"]', "bad placeholder"),
        ('[[rule]]\nname = "x"\n[[rule]]\nname = "x"', "used twice"),
        ('[[rule]]\nwhen = "iso > 5"', "'when' must be a table"),
        ('[[rule]]\nenabled = "no"', "'enabled' must be true or false"),
        ("[[rule]\n", "not valid TOML"),
        ('[[rules]]\nname = "a"\n[[rule]]\nname = "b"', "either 'rule' or 'rules'"),
        ('title = "x"', "unknown top-level key"),
    ],
)
def test_bad_rules_name_file_rule_and_problem(text: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        toml(text)
    assert str(info.value).startswith("rules.toml: ")
    assert message in str(info.value)


def test_fields_from_other_stages_can_be_allowed() -> None:
    with pytest.raises(RuleError):
        toml('[[rule]]\nwhen = { aesthetic_score = "> 0.8" }')
    rules = toml(
        '[[rule]]\nwhen = { aesthetic_score = "> 0.8" }\nkeywords = ["Best"]',
        extra_fields=["aesthetic_score"],
    )
    assert rules.apply("/a.jpg", {"aesthetic_score": 0.9})["keywords"] == ["Best"]


def test_set_fields_are_known_to_later_rules_only() -> None:
    with pytest.raises(RuleError, match="names {noise}"):
        toml('[[rule]]\nkeywords = ["N|{noise}"]\n[[rule]]\nset = { noise = "high" }')


# --------------------------------------------------------------------------------------------
# Files, formats and versions
# --------------------------------------------------------------------------------------------


def test_yaml_and_toml_are_equivalent(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(EXAMPLE_TOML, encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(EXAMPLE_YAML, encoding="utf-8")
    from_toml = load_rules(tmp_path / "rules.toml")
    from_yaml = load_rules(tmp_path / "rules.yaml")
    assert from_toml.version == from_yaml.version
    for path, fields in ((WEDDING_PATH, SONY), ("/x/a.jpg", {"iso": 100}), (WEDDING_PATH, {})):
        assert from_toml.apply(path, fields) == from_yaml.apply(path, fields)


def test_yaml_bare_list_and_dates(tmp_path: Path) -> None:
    text = "- name: old\n  when: {captured_at: '< 2000-01-01'}\n  set: {era: 1999-12-31}\n"
    rules = parse_rules(text, "yaml")
    out = rules.apply("/a.jpg", {"captured_at": "1998-05-01T10:00:00"})
    assert out["era"] == "1999-12-31"  # a YAML date becomes ISO text


def test_version_ignores_formatting_but_not_content() -> None:
    base = toml(EXAMPLE_TOML).version
    reformatted = EXAMPLE_TOML.replace("# Clients", "# Different comment\n\n# Clients").replace(" = ", "=")
    assert toml(reformatted).version == base
    assert toml(EXAMPLE_TOML.replace(">= 3200", ">= 1600")).version != base
    assert len(base) == 12


def test_load_rules_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("rules:\n  - name: x\n    when: {iso: '=> 5'}\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"mine\.yaml: rule 1 \('x'\): condition on 'iso': unknown operator"):
        load_rules(bad)
    with pytest.raises(RuleError, match="must end in"):
        load_rules(tmp_path / "rules.json")
    with pytest.raises(RuleError, match="cannot read"):
        load_rules(tmp_path / "absent.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text("# no rules yet\n", encoding="utf-8")
    assert len(load_rules(empty)) == 0
