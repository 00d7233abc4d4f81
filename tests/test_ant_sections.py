"""scripts/ant_sections.py: ANT's TREC-style article files into the JSONL layout the commands read."""

import gzip
import json

from conftest import run_script


def ant_file(folder, source, section, number, text):
    path = folder / source / section / f"{source[:2].upper()}-{section}-{number}-20180301.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<DOC>\n<DOCNO>{path.stem}</DOCNO>\n<URL>http://x/{number}</URL>\n<SRC>{source}</SRC>\n"
                    f"<CAT>{section}</CAT>\n<TITLE>عنوان {number}</TITLE>\n<TIME>Thu, 01 Mar 2018</TIME>\n"
                    f"<ABSTRACT>\nملخص\n</ABSTRACT>\n<TEXT>\n{text}\n</TEXT>\n</DOC>\n", encoding="utf-8")
    return path.stem


def rows(path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def make_corpus(tmp_path):
    repo = tmp_path / "ant"
    ids = [ant_file(repo, "SkyNews", "sport", n, f"سجل اللاعب هدفا في المباراة رقم {n}.\nوفاز الفريق.") for n in range(40)]
    ant_file(repo, "BBC", "economy", 1, "ارتفعت أسعار النفط.")
    ant_file(repo, "BBC", "sport", 99, "")  # no text: skipped
    return repo, ids


def test_sections_become_jsonl_rows_and_a_fixed_share_is_held_out(tmp_path):
    repo, ids = make_corpus(tmp_path)
    result = run_script("ant_sections.py", "--repo", repo, "--sections", "sport", "--output", tmp_path / "kept.jsonl.gz",
                        "--heldout", tmp_path / "held.jsonl.gz")
    assert result.returncode == 0, result.stderr
    kept, held = rows(tmp_path / "kept.jsonl.gz"), rows(tmp_path / "held.jsonl.gz")
    assert sorted(r["id"] for r in kept + held) == sorted(ids)  # every sport article once, no economy, no empty one
    assert 0 < len(held) < len(kept)
    first = next(r for r in kept + held if r["id"].endswith("-sport-3-20180301"))
    assert first["text"] == "سجل اللاعب هدفا في المباراة رقم 3.\nوفاز الفريق."  # the body only, not the abstract
    assert (first["source"], first["category"], first["title"]) == ("SkyNews", "sport", "عنوان 3")
    # the same bytes on a second run: the split hangs on the ids, the gzip carries no timestamp
    again = run_script("ant_sections.py", "--repo", repo, "--sections", "sport", "--output", tmp_path / "k2.jsonl.gz",
                       "--heldout", tmp_path / "h2.jsonl.gz")
    assert again.returncode == 0
    assert (tmp_path / "held.jsonl.gz").read_bytes() == (tmp_path / "h2.jsonl.gz").read_bytes()


def test_without_heldout_every_article_is_kept(tmp_path):
    repo, ids = make_corpus(tmp_path)
    result = run_script("ant_sections.py", "--repo", repo, "--sections", "sport,economy", "--output", tmp_path / "all.jsonl.gz")
    assert result.returncode == 0, result.stderr
    assert len(rows(tmp_path / "all.jsonl.gz")) == len(ids) + 1


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    repo, _ = make_corpus(tmp_path)
    (tmp_path / "taken.jsonl.gz").write_bytes(b"mine")
    cases = [(["--repo", repo, "--sections", "football"], "unknown ['football']"),
             (["--repo", tmp_path / "nowhere", "--sections", "sport"], "no ANT article files"),
             (["--repo", repo, "--sections", "sport", "--heldout-every", "1"], "--heldout-every must be >= 2")]
    for args, message in cases:
        result = run_script("ant_sections.py", *args, "--output", tmp_path / "out.jsonl.gz")
        assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert not (tmp_path / "out.jsonl.gz").exists()
    result = run_script("ant_sections.py", "--repo", repo, "--sections", "sport", "--output", tmp_path / "taken.jsonl.gz")
    assert result.returncode == 2 and "exists" in result.stderr
    assert (tmp_path / "taken.jsonl.gz").read_bytes() == b"mine"
    inside = repo / "SkyNews" / "sport" / "out.jsonl.gz"  # into the clone it reads: refused
    result = run_script("ant_sections.py", "--repo", repo, "--sections", "sport", "--output", inside)
    assert result.returncode == 2 and "lies inside the input" in result.stderr and not inside.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ant", "taken.jsonl.gz"]  # no temp file left
