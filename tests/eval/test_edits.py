import dataclasses
import json
import logging
from pathlib import Path

import pytest

from hei_nw.cli.harness import main
from hei_nw.datasets.edits import EditCase, EditDataError, detect_layout, fact_sentence, load_edits
from hei_nw.eval.edits import hei_nw_memory, plain_memory
from hei_nw.memory import MemoryConfig
from hei_nw.metrics.edit_metrics import agreement, same_output, target_hit
from hei_nw.metrics.teacher_forced import teacher_force

GATE_OFF = MemoryConfig().with_overrides({"gate.use_for_writes": False})
SCOPED = GATE_OFF.with_overrides({"recall.scope": "scope"})

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"

CF = [
    {
        "case_id": 1,
        "prompt": "Zorblat Mobile, by",
        "target_new": "Quintex",
        "subject": "Zorblat Mobile",
        "ground_truth": "Zorblat",
        "rephrase_prompt": "My favourite product owned by somebody: Zorblat Mobile, owned by",
        "locality_prompt": "The river that flows through Cairo is the",
        "locality_ground_truth": "Nile",
    },
    {
        "case_id": 2,
        "prompt": "Vellamo Kettunen plays the",
        "target_new": "tuba",
        "subject": "Vellamo Kettunen",
        "ground_truth": "violin",
        "rephrase_prompt": "The instrument Vellamo Kettunen is known for is the",
        "locality_prompt": "Penguins are birds that cannot",
        "locality_ground_truth": "fly",
    },
    {
        "case_id": 3,
        "prompt": "The headquarters of Drommel Bank are in",
        "target_new": "Reykjavik",
        "subject": "Drommel Bank",
        "ground_truth": "Oslo",
        "rephrase_prompt": "Drommel Bank has its main office in",
        "locality_prompt": "Honey is made by",
        "locality_ground_truth": "bees",
    },
]
ZS = [
    {
        "subject": "UniFirst",
        "src": "What is the product made by UniFirst?",
        "pred": "uniform",
        "rephrase": "What will be the product of UniFirst?",
        "alt": "unmanned aircraft",
        "answers": ["uniform"],
        "loc": "nq question: who wrote the song yesterday",
        "loc_ans": "Paul McCartney",
        "cond": "x",
    }
]


def _write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_loader_reads_both_layouts(tmp_path):
    cf = load_edits(_write(tmp_path, "cf.json", CF))
    assert [c.layout for c in cf] == ["counterfact"] * 3
    assert cf[0].fact == "Zorblat Mobile, by Quintex." and cf[0].rephrase.startswith("My favourite")
    zs = load_edits(_write(tmp_path, "zs.json", ZS))
    assert zs[0].layout == "zsre" and zs[0].ground_truth == "uniform"
    assert zs[0].locality_prompt == "who wrote the song yesterday"
    assert zs[0].fact == "What is the product made by UniFirst? unmanned aircraft."
    jsonl = tmp_path / "cf.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in CF))
    assert len(load_edits(jsonl, "counterfact", limit=2)) == 2
    assert detect_layout({"x": 1}) is None


def test_loader_bad_input_names_file_record_and_key(tmp_path):
    broken = [dict(CF[0]), {k: v for k, v in CF[1].items() if k != "target_new"}]
    path = _write(tmp_path, "broken.json", broken)
    with pytest.raises(EditDataError, match=r"broken\.json: record 1 lacks key 'target_new'"):
        load_edits(path)
    with pytest.raises(EditDataError, match=r"record 0 lacks key 'src' \(zsre layout\)"):
        load_edits(_write(tmp_path, "cf.json", CF), "zsre")
    with pytest.raises(EditDataError, match="matches no known layout"):
        load_edits(_write(tmp_path, "odd.json", [{"a": 1}]))
    with pytest.raises(EditDataError, match="unknown edit layout"):
        load_edits(_write(tmp_path, "cf2.json", CF), "mend")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(EditDataError, match="not JSON or JSONL"):
        load_edits(bad)
    with pytest.raises(EditDataError, match="cannot read"):
        load_edits(tmp_path / "missing.json")


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present beside the clone")
def test_loader_reads_the_shared_files():
    assert len(load_edits(SHARED / "counterfact" / "counterfact-val.json")) == 1919
    assert len(load_edits(SHARED / "zsre" / "zsre-sample-100.json")) == 100


def test_metrics_on_hand_made_cases():
    assert fact_sentence("Q?", "A") == "Q? A." and fact_sentence("X, by", "Sega") == "X, by Sega."
    assert target_hit("Sega, a Japanese company", "Sega")
    assert target_hit("the  Nile", "Nile")  # articles and spacing normalised
    assert not target_hit("Segarama", "Sega") and not target_hit("", "Sega")
    assert same_output("Paris.", "paris") and not same_output("Paris", "Rome")
    assert agreement([[1, 2, 3], [4]], [[1, 9, 3], [4]]) == [pytest.approx(2 / 3), 1.0]


def test_names_edited_subject_flags_prompts_for_scoring_only():
    from hei_nw.metrics.edit_metrics import names_edited_subject

    subjects = ["Riga", "BBC One"]
    prompts = ["The twin city of Riga is", "BBC Radio is owned by", "Rigatoni is a kind of"]
    assert names_edited_subject(prompts, subjects) == [True, False, False]


def test_teacher_forced_accuracy_matches_manual_argmax(tiny_pipe):
    import torch

    prompt, target = "The river in Cairo is the", "Nile delta"
    forced = teacher_force(tiny_pipe, [prompt], [target])[0]
    tok = tiny_pipe.tokenizer
    p = tok(prompt, add_special_tokens=False)["input_ids"]
    t = tok(" Nile delta", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = tiny_pipe.model(input_ids=torch.tensor([p + t])).logits[0]
    manual = logits[len(p) - 1 : len(p) + len(t) - 1].argmax(-1).tolist()
    assert forced.target_ids == t and forced.argmax_ids == manual
    assert forced.token_accuracy == sum(a == b for a, b in zip(t, manual, strict=True)) / len(t)
    # Padding in a batch does not change a row's result.
    batch = teacher_force(tiny_pipe, [prompt, "x"], [target, "y"], batch_size=2)
    assert batch[0].argmax_ids == manual
    assert batch[0].logprob == pytest.approx(forced.logprob, abs=1e-3)


def test_memory_does_not_fire_on_unrelated_prompts(tiny_pipe, tmp_path):
    cases = load_edits(_write(tmp_path, "cf.json", CF))
    mem, _ = hei_nw_memory(tiny_pipe, "counterfact", cases, GATE_OFF)
    assert mem.telemetry["written"] == 3 and 0 < mem.telemetry["relevance_floor"] < 1
    assert mem.telemetry["relevance_test"] == "floor"
    assert all(m is not None for m in mem.memory["rewrite"])
    assert [r.split("#")[0] for r in mem.retrieved["rewrite"]] == [
        f"edits;dataset=counterfact;case={c.case_id}" for c in cases
    ]
    assert mem.memory["locality"] == [None, None, None]


def test_harness_edit_benchmark_end_to_end(tiny_model_dir, tmp_path):
    data = _write(tmp_path, "cf.json", CF)
    out = tmp_path / "reports"
    args = ["--mode", "B1", "--scenario", "counterfact", "--data", str(data), "--edits", "2"]
    args += ["--model", str(tiny_model_dir), "--outdir", str(out), "--baseline", "rag"]
    assert main(args) == 0
    report = json.loads((out / "counterfact_N2_B1_metrics.json").read_text())
    agg = report["aggregate"]
    for key in (
        "rewrite_acc_tf",
        "rephrase_acc_tf",
        "locality_tf",
        "rewrite_acc_prefix",
        "locality_gen",
    ):
        assert 0.0 <= agg[key] <= 1.0
    assert "locality_false_positive_rate" in agg and agg["n"] == 2
    assert agg["locality_names_edited_subject_rate"] == 0.0 and "locality_disjoint_n" not in agg
    row = report["rows"][0]
    assert {"pre", "post", "scores", "memory"} <= set(row)
    assert {"rewrite", "rephrase", "locality", "rewrite_tf"} <= set(row["pre"])
    names = [b["name"] for b in report["baselines"]]
    assert names == ["plain-minilm", "plain-minilm+subject", "plain-minilm+names"]
    guarded = report["baselines"][1]["aggregate"]
    assert guarded["locality_memory_fired"] == 0.0  # same guard as HEI-NW: no subject named
    # Cairo and Penguins are names no stored fact names: the name-anchor guard holds too.
    assert report["baselines"][2]["aggregate"]["locality_memory_fired"] == 0.0
    assert report["baselines"][0]["aggregate"]["locality_memory_fired"] == 1.0  # always pastes
    assert report["run"]["n"] == 2 and report["run"]["smoke"] is True
    # The synthetic-scenario --n is not used here and must not masquerade as the size.
    assert "n" not in report["run"]["config"] and report["run"]["config"]["edits"] == 2
    assert (out / "counterfact_N2_B1_report.md").is_file()


def test_harness_edit_needs_data(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--mode", "B0", "--scenario", "zsre", "--outdir", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data is required" in err
    bad = _write(tmp_path, "bad.json", [{"a": 1}])
    with pytest.raises(SystemExit):
        main(
            [
                "--mode",
                "B0",
                "--scenario",
                "zsre",
                "--data",
                str(bad),
                "--outdir",
                str(tmp_path / "o"),
            ]
        )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "record 0 lacks key" in err


def test_scoring_pass_logs_what_it_scores(tiny_pipe, tmp_path, caplog):
    # A long scoring pass (the pre-edit one) must say what it is doing in the log.
    from hei_nw.eval.edit_scoring import edit_targets, run_outputs
    from hei_nw.eval.edits import build_queries

    cases = load_edits(_write(tmp_path, "cf.json", CF))
    with caplog.at_level(logging.INFO, logger="hei_nw.eval.edit_scoring"):
        run_outputs(tiny_pipe, build_queries(cases, "counterfact"), edit_targets(cases), 2)
    lines = [r.getMessage() for r in caplog.records]
    n = len(cases)
    assert lines == [
        f"scoring {n} {k} prompts (0 reused)" for k in ("rewrite", "rephrase", "locality")
    ]


def test_unchanged_prompts_reuse_the_pre_edit_outputs(tiny_pipe, tmp_path, caplog):
    from hei_nw.eval.edit_scoring import edit_targets, run_outputs
    from hei_nw.eval.edits import build_queries

    cases = load_edits(_write(tmp_path, "cf.json", CF))
    targets = edit_targets(cases)
    plain = build_queries(cases, "counterfact")
    pre = run_outputs(tiny_pipe, plain, targets, 2)
    # Memory fired on the second rewrite prompt only.
    memory = {k: [None] * len(cases) for k in ("rewrite", "rephrase", "locality")}
    memory["rewrite"][1] = cases[1].fact
    fired = build_queries(cases, "counterfact", memory)
    fresh = run_outputs(tiny_pipe, fired, targets, 2)
    with caplog.at_level(logging.INFO, logger="hei_nw.eval.edit_scoring"):
        post = run_outputs(tiny_pipe, fired, targets, 2, reuse=(plain, pre))
    assert caplog.records[0].getMessage() == f"scoring 1 rewrite prompts ({len(cases) - 1} reused)"
    assert post.text["rewrite"][1] == fresh.text["rewrite"][1]
    assert post.forced["rewrite"][1] == fresh.forced["rewrite"][1]
    assert post.text["rewrite"][0] == pre.text["rewrite"][0]
    assert post.forced["locality"] == pre.forced["locality"]


def test_edit_case_is_frozen():
    case = EditCase("1", "s", "p", "t", "g", "r", "l", "a", "counterfact")
    with pytest.raises(AttributeError):
        case.prompt = "x"


def test_pre_edit_outputs_are_cached(tiny_pipe, tmp_path):
    from hei_nw.eval.edit_scoring import cached_outputs, edit_targets
    from hei_nw.eval.edits import build_queries

    cases = load_edits(_write(tmp_path, "cf.json", CF))
    queries, targets = build_queries(cases, "counterfact"), edit_targets(cases)
    first = cached_outputs(tiny_pipe, queries, targets, 2, tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 1
    second = cached_outputs(tiny_pipe, queries, targets, 2, tmp_path / "cache")
    assert second.text == first.text
    assert [f.argmax_ids for f in second.forced["locality"]] == [
        f.argmax_ids for f in first.forced["locality"]
    ]


def test_in_scope_matches_the_subject_phrase_only():
    from hei_nw.utils.text import in_scope

    assert in_scope("Danielle Darrieux's mother tongue is", "Danielle Darrieux")
    assert in_scope("What is the product made by UniFirst?", "unifirst")
    assert not in_scope("BBC One, by", "BBC Radio")  # shares a word, names another entity
    assert not in_scope("Darrieux Danielle spoke", "Danielle Darrieux")  # order matters
    assert not in_scope("Applewood is in", "Apple") and not in_scope("anything", "")


def test_scope_guard_keeps_in_scope_hits_in_rank_order(tiny_pipe):
    from hei_nw.memory.store import Hit
    from tests.conftest import tiny_memory

    recall = tiny_memory(tiny_pipe, {"recall.scope": "scope"}).recaller
    hits = [
        Hit({"trace_id": f"t{i}", "entity_slots": {"scope": s}}, 1.0 - i / 10, 0.5)
        for i, s in enumerate(["BBC Radio", "BBC One", "Sega"])
    ]
    assert [h.trace["trace_id"] for h in recall.scoped("BBC One, by", hits)] == ["t1"]
    assert recall.scoped("Penguins cannot", hits) == []
    recall.scope_slot = None
    assert len(recall.scoped("Penguins cannot", hits)) == 3


def test_scope_guard_blocks_shared_word_locality_prompts(tiny_pipe, tmp_path):
    records = [dict(r) for r in CF]
    # Locality prompts that share a subject word and the relation with an edit.
    records[0]["locality_prompt"] = "Zorblat Radio, by"
    records[2]["locality_prompt"] = "The headquarters of Drommel Airlines are in"
    cases = load_edits(_write(tmp_path, "cf.json", records))
    mem, _ = hei_nw_memory(tiny_pipe, "counterfact", cases, SCOPED)
    assert all(m is not None for m in mem.memory["rewrite"] + mem.memory["rephrase"])
    assert mem.memory["locality"] == [None, None, None]
    # The guard is the relevance test: no label-free cosine floor is stacked on it.
    assert mem.telemetry["relevance_test"] == "scope:scope"
    assert mem.telemetry["relevance_floor"] is None


def test_plain_baseline_name_guard_is_hei_nws_name_anchor_test(tmp_path):
    records = [dict(r) for r in CF]
    records[0]["locality_prompt"] = "Reykjavik is the capital of"  # names an edit's target
    records[1]["locality_prompt"] = "a person who plays the"  # names nothing
    cases = load_edits(_write(tmp_path, "cf.json", records))
    mem = plain_memory("counterfact", cases, "bm25", "names").memory
    assert all(m is not None for m in mem["rewrite"] + mem["rephrase"])
    # Named by a stored fact's text: pasted (as HEI-NW would); naming nothing: top-1;
    # naming only what no fact names: nothing.
    assert mem["locality"][0] == cases[2].fact
    assert mem["locality"][1] is not None and mem["locality"][2] is None
    # The subject field is never read by the name guard.
    scrambled = [dataclasses.replace(c, subject="Nobody At All") for c in cases]
    assert plain_memory("counterfact", scrambled, "bm25", "names").memory == mem
    with pytest.raises(ValueError, match="guard"):
        plain_memory("counterfact", cases, "bm25", "scope")


def test_name_anchors_read_names_off_the_text():
    from hei_nw.memory.slots import name_anchors

    assert name_anchors("Danielle Darrieux's mother tongue is") == {"danielle darrieux"}
    # A clause break ends a name; a noise prefix does not glue onto the subject.
    assert name_anchors("He met Wolf Blitzer. George Sluizer, speaker of") == {
        "wolf blitzer",
        "george sluizer",
    }
    assert name_anchors("Football Federation of Sri Lanka is affiliated with the") == {
        "football federation of sri lanka"
    }
    assert name_anchors("Fiat 128, created by Renault.") == {"fiat 128", "renault"}
    assert name_anchors("The reason hamburger has its name is that") == frozenset()


def test_name_anchor_scope_needs_no_user_given_subject(tiny_pipe, tmp_path):
    records = [dict(r) for r in CF]
    records[0]["locality_prompt"] = "Zorblat Radio, by"  # shares a word, names another thing
    records[2]["locality_prompt"] = "The headquarters of Drommel Airlines are in"
    cases = load_edits(_write(tmp_path, "cf.json", records))
    # The subjects given at write time are scrambled: the names test never reads them.
    scrambled = [dataclasses.replace(c, subject="Nobody At All") for c in cases]
    names = GATE_OFF.with_overrides({"recall.scope": "names"})
    mem, _ = hei_nw_memory(tiny_pipe, "counterfact", scrambled, names)
    assert all(m is not None for m in mem.memory["rewrite"] + mem.memory["rephrase"])
    assert mem.memory["locality"] == [None, None, None]
    assert mem.telemetry["relevance_test"] == "names+floor"
    assert mem.telemetry["relevance_floor"] is not None  # for cues that name nothing


def test_recall_scope_flag_resolves_per_scenario(tmp_path):
    from hei_nw.cli.harness import parse_config

    edit = parse_config(
        ["--mode", "B1", "--scenario", "zsre", "--data", "x.json", "--outdir", str(tmp_path)]
    )
    assert edit.memory.recall.scope == "scope"  # an edit request names its subject
    assert parse_config(["--mode", "B1", "--scenario", "A"]).memory.recall.scope is None
    off = parse_config(
        ["--mode", "B1", "--scenario", "zsre", "--data", "x", "--recall.scope", "none"]
    )
    assert off.memory.recall.scope is None


def test_edit_serving_uses_the_request_never_the_rephrase(tiny_pipe, tmp_path):
    from hei_nw.consolidation.cycles import replay_inputs
    from hei_nw.eval.edits import edit_memory

    cases = load_edits(_write(tmp_path, "cf.json", CF))
    mem = edit_memory(tiny_pipe, "counterfact", cases, SCOPED)
    mem.answer([c.prompt for c in cases], log=True, prompt_format="cloze")
    _, rows, _ = replay_inputs(mem)
    text = " ".join(r.prompt for rs in rows.values() for r in rs)
    assert all(c.prompt in text for c in cases)
    assert not any(c.rephrase in text or c.locality_prompt in text for c in cases)
    assert all(r.prompt.startswith("Complete each sentence") for rs in rows.values() for r in rs)


def test_edit_retrieval_script_compares_relevance_tests(tiny_model_dir, tmp_path):
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location(
        "edit_retrieval", root / "scripts/edit_retrieval.py"
    )
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    data, out = _write(tmp_path, "cf.json", CF), tmp_path / "r.json"
    argv = ["--scenario", "counterfact", "--data", str(data), "--edits", "3"]
    assert script.main([*argv, "--model", str(tiny_model_dir), "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["n"] == 3 and report["command"].startswith("python scripts/edit_retrieval.py")
    guard, bare = report["conditions"]["scope_guard"], report["conditions"]["none"]
    assert report["split"] == "test"
    assert report["written_by_gate"] == 3
    assert guard["rewrite"] == {"fired": 1.0, "p_at_1": 1.0}
    # Locality prompts name no edited subject: the guard stops them, nothing else does.
    assert guard["locality"]["fired"] == 0.0 and guard["relevance_floor"] is None
    assert bare["locality"]["fired"] == 1.0
    # Names read off the texts stop them too, with no subject given: each locality prompt
    # names something no stored fact names (Cairo) or nothing (the floor decides).
    names = report["conditions"]["names"]
    assert names["rewrite"] == names["rephrase"] == {"fired": 1.0, "p_at_1": 1.0}
    assert names["locality"]["fired"] == 0.0 and names["relevance_floor"] is not None
    with pytest.raises(SystemExit) as exc:
        script.main([*argv[:3], str(tmp_path / "missing.json"), "--out", str(out)])
    assert exc.value.code == 2
