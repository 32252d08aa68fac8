"""Vocabulary: built-in list, the user's Lightroom keyword tree (real catalogs), merging without duplicates."""

from __future__ import annotations

import sqlite3
import tomllib
import unicodedata
from pathlib import Path

import pytest

from bridge.analyses.vocabulary import (
    BUILTIN_PATH,
    Term,
    Vocabulary,
    build_vocabulary,
    catalog_keyword_tree,
    is_junk,
    load_builtin,
    normalize,
    terms_from_catalog,
    terms_from_keyword_tree,
)
from catalog.keywords import Keyword, KeywordTree
from tests.catalog.fixtures import _Writer, build_catalog, genealogy


def add_keyword(
    lrcat: Path,
    name: str,
    parent: str | None = None,
    *,
    synonyms: tuple[str, ...] = (),
    ktype: str | None = None,
    export: bool = True,
) -> int:
    """Add a keyword the way Lightroom stores it (id from the counter, genealogy, lc_name, synonyms)."""
    conn = sqlite3.connect(lrcat, isolation_level=None)
    try:
        w = _Writer(conn, "1100000")
        if parent is None:
            (root,) = conn.execute(
                "SELECT value FROM Adobe_variablesTable WHERE name = 'AgLibraryKeyword_rootTagID'"
            ).fetchone()
            pid = int(root)
        else:
            (pid,) = conn.execute(
                "SELECT id_local FROM AgLibraryKeyword WHERE name = ?", (parent,)
            ).fetchone()
        (pgen,) = conn.execute("SELECT genealogy FROM AgLibraryKeyword WHERE id_local = ?", (pid,)).fetchone()
        conn.execute("BEGIN IMMEDIATE")
        kid = w.insert(
            "AgLibraryKeyword",
            dateCreated=7.5e8,
            name=name,
            lc_name=unicodedata.normalize("NFC", name).lower(),
            parent=pid,
            keywordType=ktype,
            includeOnExport=int(export),
        )
        conn.execute(
            "UPDATE AgLibraryKeyword SET genealogy = ? WHERE id_local = ?", (genealogy(pgen, kid), kid)
        )
        for syn in synonyms:
            w.insert("AgLibraryKeywordSynonym", with_global=False, keyword=kid, name=syn, lc_name=syn.lower())
        conn.execute("COMMIT")
        return kid
    finally:
        conn.close()


@pytest.fixture
def lrcat(shared_data: Path, tmp_path: Path) -> Path:
    """A fixture-built LrC 11 catalog (Places|Europe|Lisbon, Nature|Sunset ~ Dusk/Sundown, person Ann) plus
    the keywords a photographer's catalog typically has: a plural "Animals|Dogs", junk and brand names, a
    not-exported category keyword."""
    path = build_catalog(shared_data, tmp_path / "cat").path
    add_keyword(path, "Animals")
    add_keyword(path, "Dogs", "Animals")
    add_keyword(path, "Birds", "Animals", synonyms=("Avian",))
    add_keyword(path, "IMG_1234")
    add_keyword(path, "2019-05-01")
    add_keyword(path, "12345")
    add_keyword(path, "Canon")
    add_keyword(path, "Travel", export=False)  # category keyword: also a built-in Styles term
    add_keyword(path, "Woman", ktype="person")  # a face named like a built-in term
    return path


def paths(vocab: Vocabulary) -> list[str]:
    return [t.full_path for t in vocab.terms]


def assert_no_duplicates(vocab: Vocabulary) -> None:
    full = [p.casefold() for p in paths(vocab)]
    assert len(full) == len(set(full))
    labels = [normalize(t.label) for t in vocab.terms]
    assert len(labels) == len(set(labels))


# --- built-in ---------------------------------------------------------------------------------------------


def test_builtin_vocabulary_shape() -> None:
    terms = load_builtin()
    assert 300 <= len(terms) <= 500
    assert BUILTIN_PATH.read_text().startswith("# Pixel Detective built-in photography vocabulary.")
    tops = {t.path[0] for t in terms}
    assert {"Scenes", "Subjects", "Lighting", "Composition", "Events", "Styles"} <= tops
    assert {t.path[1] for t in terms if t.path[0] == "Subjects"} >= {
        "People", "Animals", "Objects", "Vehicles", "Food", "Architecture", "Nature",
    }  # fmt: skip
    assert all(t.source == "builtin" and t.prompts and len(t.path) >= 2 for t in terms)
    assert not [t.label for t in terms if is_junk(t.label)]
    vocab = build_vocabulary()
    assert len(vocab) == len(terms)  # nothing in the built-in file is junk or a denied brand
    assert_no_duplicates(vocab)
    dog = vocab.by_path("Subjects|Animals|Dog")
    assert dog is not None and "Puppy" in dog.synonyms and dog.prompts[0] == "a photo of a Dog."
    sunset = vocab.by_path("Lighting|Sunset")
    assert sunset is not None and sunset.prompts == ("a photo of a sunset.", "a photo taken at sunset.")


def test_builtin_file_rejects_duplicate_names(tmp_path: Path) -> None:
    bad = tmp_path / "v.toml"
    bad.write_text('[A]\nterms = ["Dog"]\n[B]\nterms = [{ name = "Hound", synonyms = ["Dogs"] }]\n')
    with pytest.raises(ValueError, match="duplicate"):
        load_builtin(bad)
    tomllib.loads(BUILTIN_PATH.read_text())  # and the shipped one parses


def test_junk_labels() -> None:
    for junk in ("IMG_1234", "DSC01234", "_DSC0042.NEF", "holiday.jpg", "2019-05-01", "01.05.2019", "2019",
                 "12345", "x", " ", "[Places]", "_People", "@Events"):  # fmt: skip
        assert is_junk(junk), junk
    for ok in ("Dog", "Beach", "New Year", "B&W", "Hot Air Balloon", "3D Art", "Route 66"):
        assert not is_junk(ok), ok


def test_normalize_folds_case_and_plural() -> None:
    assert normalize("Dogs") == normalize("dog") == normalize("DOG")
    assert normalize("Puppies") == normalize("puppy")
    assert normalize("Buses") == normalize("Bus")
    assert normalize("Hot Air Balloons") == normalize("hot  air balloon")
    assert normalize("Glass") == "glass"


# --- keyword trees ----------------------------------------------------------------------------------------


def tree(*rows: tuple[int, str, int | None, tuple[str, ...], str | None, bool]) -> KeywordTree:
    """A KeywordTree as read_keyword_tree builds it: rows are (id, name, parent, synonyms, type, export)."""
    names = {r[0]: (r[1], r[2]) for r in rows}

    def path(kid: int | None) -> tuple[str, ...]:
        out: list[str] = []
        while kid is not None:
            out.append(names[kid][0])
            kid = names[kid][1]
        return tuple(reversed(out))

    return KeywordTree(
        root_id=0,
        by_id={
            kid: Keyword(kid, f"U{kid}", name, parent, path(kid), syn, ktype, export)
            for kid, name, parent, syn, ktype, export in rows
        },
    )


def test_dog_maps_onto_a_keyword_with_synonym_dog() -> None:
    t = tree(
        (1, "Pets", None, (), None, True),
        (2, "Rex", 1, ("dog",), None, True),  # the user's dog, with "dog" as a synonym
    )
    catalog_terms = terms_from_keyword_tree(t)
    vocab = build_vocabulary(catalog_terms=catalog_terms)
    assert vocab.by_path("Subjects|Animals|Dog") is None  # never a second node
    rex = vocab.by_path("Pets|Rex")
    assert rex is not None and rex.source == "catalog"
    assert "Puppy" in rex.synonyms  # built-in synonyms and prompts enrich the user's keyword
    assert "a photo of a Dog." in rex.prompts and "a photo of Rex." in rex.prompts
    assert_no_duplicates(vocab)


def test_same_name_in_two_branches_keeps_one() -> None:
    t = tree(
        (1, "Europe", None, (), None, True),
        (2, "USA", None, (), None, True),
        (3, "Paris", 1, (), None, True),
        (4, "Paris", 2, (), None, True),
        (5, "Paris", None, (), None, True),
    )
    terms = terms_from_keyword_tree(t)
    assert [x.full_path for x in terms if x.label == "Paris"] == ["Paris"]  # the shallowest wins


@pytest.mark.shared_data
def test_catalog_terms_from_real_catalog(lrcat: Path) -> None:
    before = lrcat.read_bytes()
    terms = terms_from_catalog(lrcat)
    assert lrcat.read_bytes() == before  # read through a verified copy, never in place
    got = {t.full_path: t for t in terms}
    assert set(got) == {
        "Animals",
        "Animals|Birds",
        "Animals|Dogs",
        "Canon",
        "Nature",
        "Nature|Sunset",
        "Places",
        "Places|Europe",
        "Places|Europe|Lisbon",
    }  # fmt: skip  (no person Ann/Woman, no not-exported Travel, no IMG_1234/2019-05-01/12345)
    assert got["Nature|Sunset"].synonyms == ("Dusk", "Sundown")
    assert all(t.source == "catalog" for t in terms)


@pytest.mark.shared_data
def test_builtin_maps_onto_catalog_nodes(lrcat: Path) -> None:
    t = catalog_keyword_tree(lrcat)
    vocab = build_vocabulary(catalog_terms=terms_from_keyword_tree(t), tree=t)
    assert_no_duplicates(vocab)
    p = paths(vocab)
    catalog_paths = [x.full_path for x in terms_from_keyword_tree(t) if x.label != "Canon"]
    assert p[: len(catalog_paths)] == catalog_paths  # catalog terms come first
    assert "Canon" not in p  # brand names are dropped by default
    # "Dog" → "Animals|Dogs" (plural folded), "Bird" → "Animals|Birds", "Sunset" → "Nature|Sunset"
    for builtin in ("Subjects|Animals|Dog", "Subjects|Animals|Bird", "Lighting|Sunset"):
        assert builtin not in p
    dogs = vocab.by_path("Animals|Dogs")
    assert dogs is not None and set(dogs.synonyms) == {"Puppy", "Doggy"}  # "Dog" folds into "Dogs"
    assert [x for x in p if normalize(x.split("|")[-1]) == "dog"] == ["Animals|Dogs"]
    # A person or not-exported keyword blocks its built-in twin instead of getting a second node.
    assert "Subjects|People|Woman" not in p and "Styles|Travel" not in p
    assert "Woman" not in [normalize(x.split("|")[-1]) for x in p]
    # Built-in terms the catalog lacks keep their built-in path.
    assert "Subjects|Animals|Cat" in p and "Scenes|Beach" in p


@pytest.mark.shared_data
def test_version_changes_when_the_tree_changes(lrcat: Path) -> None:
    v1 = build_vocabulary(catalog_terms=terms_from_catalog(lrcat))
    assert build_vocabulary(catalog_terms=terms_from_catalog(lrcat)).version == v1.version  # stable
    add_keyword(lrcat, "Kestrel", "Birds")
    v2 = build_vocabulary(catalog_terms=terms_from_catalog(lrcat))
    assert v2.version != v1.version and "Animals|Birds|Kestrel" in paths(v2)
    add_keyword(lrcat, "Hound", "Animals", synonyms=("Beagle",))
    assert build_vocabulary(catalog_terms=terms_from_catalog(lrcat)).version != v2.version


@pytest.mark.shared_data
def test_real_lr5_catalog(copy_shared) -> None:
    """The real Lightroom 5 catalog has an empty keyword tree: the vocabulary is the built-in one."""
    (copy,) = copy_shared("catalogs/lr5_test_catalog_1.lrcat")
    assert terms_from_catalog(copy) == []
    assert build_vocabulary(catalog_terms=terms_from_catalog(copy)).version == build_vocabulary().version


# --- allow / deny -----------------------------------------------------------------------------------------


def test_allow_and_deny() -> None:
    full = build_vocabulary()
    animals = build_vocabulary(allow=["Subjects|Animals"])
    assert animals.terms and all(p.startswith("Subjects|Animals|") for p in paths(animals))
    assert (
        len(build_vocabulary(allow=["subjects|animals", "beaches"])) == len(animals) + 1
    )  # casefold, plural
    no_animals = build_vocabulary(deny=["Subjects|Animals", "Beach"])
    assert len(no_animals) == len(full) - len(animals) - 1
    assert "Scenes|Beach" not in paths(no_animals)
    assert "Subjects|Animals|Dog" not in paths(build_vocabulary(deny=["dogs"]))
    # "Subjects|Anim" is not a path prefix of "Subjects|Animals|Dog": whole path segments only
    assert not build_vocabulary(allow=["Subjects|Anim"]).terms


def test_allow_matches_builtin_path_of_merged_term_and_default_deny() -> None:
    catalog_terms = [
        Term(("Animals", "Dogs"), source="catalog"),
        Term(("Gear", "Nikon"), source="catalog"),
        Term(("Gear", "Fujifilm X100"), source="catalog"),
    ]
    vocab = build_vocabulary(catalog_terms=catalog_terms, allow=["Subjects|Animals"])
    assert "Animals|Dogs" in paths(vocab)  # it absorbed the built-in Subjects|Animals|Dog
    full = build_vocabulary(catalog_terms=catalog_terms)
    assert "Gear|Nikon" not in paths(full)  # a camera brand is not a picture concept
    assert "Gear|Fujifilm X100" in paths(full)  # brand deny matches whole labels only
    assert "Gear|Nikon" in paths(build_vocabulary(catalog_terms=catalog_terms, allow=["Nikon"]))
    assert not build_vocabulary(catalog_terms=[Term(("IMG_0001",), source="catalog")], builtin=False).terms
