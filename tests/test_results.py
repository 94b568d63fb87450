"""The results table (`benchmarks/results.py`) from evaluation reports: ranking, mean ± std cells,
failed rows, the sampler rows over the same members, and the BENCHMARKS.md block."""

import json

from benchmarks import results


def _report(path, fds, precisions):
    """A population's evaluation JSON as `bin/evaluate.py --workdir` writes it (its members)."""
    members = []
    for fd, precision in zip(fds, precisions, strict=True):
        values = {m: 0.5 for m in results.METRICS} | {"frechet_distance": fd,
                                                      "precision": precision,
                                                      "modes_covered": [10, 10]}
        members.append({"metrics": {"classifier": values}})
    path.write_text(json.dumps({"members": members, "summary": {}}))
    return str(path)


def test_tables_rank_by_mean_fd_and_keep_failures(tmp_path):
    s = results.Settings(out=tmp_path, variants=["a", "b", "c"], num_seeds=3, sampler_members=2)
    found = {
        "a": {"eval": _report(tmp_path / "a.json", [30.0, 32.0, 34.0], [0.1, 0.2, 0.3])},
        "b": {"eval": _report(tmp_path / "b.json", [10.0, 12.0, 14.0], [0.5, 0.6, 0.7]),
              "train_seconds": 754},
        "c": {"failed": "non-finite d_loss at step 7"},
    }
    assert results.ranked(found) == ["b", "a"]
    rows = results.variant_table(s, found)
    assert rows[2].startswith("| b | 12 min 34 s | 12.0 ± 2.0 | 0.600 ± 0.100 |")
    assert rows[4].startswith("| c |  | failed: non-finite d_loss at step 7 |")

    one = {m: 0.5 for m in results.METRICS} | {"frechet_distance": 9.0, "precision": 0.8}
    paths = []
    for m in range(2):
        path = tmp_path / f"b.drs.{m}.json"
        values = one | {"frechet_distance": 9.0 + m}
        path.write_text(json.dumps({"metrics": {"classifier": values}}))
        paths.append({"eval": str(path)})
    rows = results.sampler_table(s, found, {"b": {"drs": paths}})
    assert rows[2].startswith("| b | none | 11.0 ± 1.4 |")  # members 0 and 1 only
    assert rows[3].startswith("| b | drs | 9.5 ± 0.7 | 0.800 ± 0.000 |")


def test_the_block_in_benchmarks_is_replaced_not_repeated(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nbefore\n")
    results.update_benchmarks(path, "table 1")
    results.update_benchmarks(path, "other", "epochs20")
    results.update_benchmarks(path, "table 2")
    text = path.read_text()
    begin, _ = results.markers()
    assert text.count(begin) == 1 and "table 2" in text and "table 1" not in text
    assert text.startswith("# Benchmarks\n\nbefore\n")
    assert text.count(results.markers("epochs20")[0]) == 1 and "other" in text


def test_a_raw_g_row_follows_its_ema_row(tmp_path):
    s = results.Settings(out=tmp_path, variants=["a", "b", "c"], num_seeds=1, raw_g=True)
    (tmp_path / "eval").mkdir()
    found = {v: {"eval": _report(tmp_path / "eval" / f"{v}.json", [fd], [0.5]),
                 "train_seconds": 60} for v, fd in (("a", 20.0), ("b", 10.0), ("c", 15.0))}
    found["a"]["raw_eval"] = _report(tmp_path / "eval" / "a.raw_g.json", [30.0], [0.4])
    _report(tmp_path / "eval" / "b.raw_g.json", [5.0], [0.9])  # a stale file is not a row
    found["c"]["raw_g_failed"] = "no EMA"
    rows = results.with_raw_g(s, found)
    assert list(rows) == ["a", "a, raw G", "b", "c", "c, raw G"]
    assert results.ranked(rows) == ["b", "c", "a", "a, raw G"]
    table = results.variant_table(s, rows)
    assert table[5].startswith("| a, raw G | 1 min 00 s | 30.0 | 0.400 |")
    assert "| 0.500 | 10 | 0.500 |" in table[5]  # one sample set's modes: a count
    assert table[6].startswith("| c, raw G |  | failed: no EMA |")
    assert list(results.with_raw_g(results.Settings(out=tmp_path, variants=["a"]), found)) == [
        "a", "b", "c"]


def test_overrides_split_at_top_level_commas():
    assert results.split_overrides(["nets.d=conv,ema_decay=0.999", "nets.d_channels=(32,64)",
                                    "x='a,b'"]) == (
        "nets.d=conv", "ema_decay=0.999", "nets.d_channels=(32,64)", "x='a,b'")


def test_a_retrained_variant_drops_its_sampler_scores(tmp_path, monkeypatch):
    """Sampler and Inception reports belong to the run they scored: a new training (here a new
    budget, whose train.py fails) removes the variant's, and leaves other variants' alone."""
    for name in ("samplers/a.drs.0.json", "samplers/a.ddls.1.json", "samplers/ab.drs.0.json",
                 "inception/a.json", "inception/ab.json"):
        (tmp_path / "eval" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "eval" / name).write_text("{}")
    monkeypatch.setattr(results, "_run", lambda *args: "train.py failed")
    s = results.Settings(out=tmp_path, variants=["a"], num_seeds=1)
    assert results.train_and_score(s, "a", say=lambda _: None)["failed"] == "train.py failed"
    scores = tmp_path / "eval"
    left = sorted(str(p.relative_to(scores)) for p in scores.rglob("*.json"))
    assert left == ["inception/ab.json", "samplers/ab.drs.0.json"]
