"""`telewatch rules eval`: the user's labelled TSV / JSONL -> precision and recall, errors listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.models import RuleSpec
from bot.rules import compile_rules
from bot.rules.evaluation import EvalInputError, evaluate, read_examples, select

CONFIG = """
[[rules]]
name = "evacuation"
any = ["эвакуировать", "эвакуация"]
unless_near = [["*", ["автомобиль"], 3]]

[[rules]]
name = "shelling"
any = ["обстрел"]
"""

TSV = """# my labels: text, rule, yes/no
Жителей эвакуировали из Суджи\tevacuation\tyes
Жителей эвакуировали из Суджи\tshelling\tno
Эвакуировали автомобиль со двора\tevacuation\tno
Город под обстрелом\tshelling\tyes
Город под обстрелом\tevacuation\tno
Прилёт в центре города\tshelling\tyes
Обстрел\\nи эвакуация\tevacuation\tyes
"""


def record(text: str, split: str, lang: str, **labels: bool) -> str:
    return json.dumps(
        {"id": text[:8], "lang": lang, "split": split, "text": text, "labels": labels}, ensure_ascii=False
    )


JSONL = "\n".join(
    [
        "# comment line",
        record("Жителей эвакуировали из Суджи", "dev", "ru", evacuation=True, shelling=False),
        record("Residents were evacuated", "test", "en", evacuation=True, shelling=False),
        record("Обстріл міста", "dev", "uk", evacuation=False, shelling=True),
        record("Эвакуировали автомобиль со двора", "dev", "ru", evacuation=False, drones=False),
    ]
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "telewatch.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "labels.tsv").write_text(TSV, encoding="utf-8")
    (tmp_path / "real.jsonl").write_text(JSONL + "\n", encoding="utf-8")
    monkeypatch.setenv("TELEWATCH_CONFIG", str(tmp_path / "telewatch.toml"))
    monkeypatch.setenv("TELEWATCH_DB", str(tmp_path / "tw.db"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> tuple[str, str]:
    capsys.readouterr()
    assert main(list(args)) == code
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_tsv_counts_per_rule_and_micro_totals(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(run(capsys, "rules", "eval", "labels.tsv", "--json")[0])
    assert data["examples"] == 5
    ev, sh = data["rules"]["evacuation"], data["rules"]["shelling"]
    assert (ev["tp"], ev["fp"], ev["fn"], ev["n"]) == (2, 0, 0, 4)
    assert (sh["tp"], sh["fp"], sh["fn"], sh["n"]) == (1, 0, 1, 3)
    assert data["micro"]["precision"] == 1.0
    assert data["micro"]["recall"] == 0.75
    (miss,) = data["errors"]
    assert (miss["kind"], miss["rule"], miss["where"]) == ("miss", "shelling", "labels.tsv:7")
    assert miss["note"] == "no term of the rule occurs"


def test_table_lists_misses_and_false_hits_with_words(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "fh.tsv").write_text("Обстрел из-за угла в футболе\tshelling\tno\n", encoding="utf-8")
    text = run(capsys, "rules", "eval", "fh.tsv")[0]
    assert "micro total" in text
    assert "false hit shelling fh.tsv:1 ['Обстрел']" in text


def test_jsonl_filters_by_split_and_language_and_skips_unknown_rules(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = json.loads(run(capsys, "rules", "eval", "real.jsonl", "--split", "dev", "--json")[0])
    assert dev["examples"] == 3
    assert dev["unknown_rules"] == {"drones": 1}
    assert set(dev["languages"]) == {"ru", "uk"}
    assert dev["micro"]["fp"] == 0  # the towing text is cancelled by unless_near
    ru = json.loads(run(capsys, "rules", "eval", "real.jsonl", "--lang", "ru", "--json")[0])
    assert ru["examples"] == 2
    _, err = run(capsys, "rules", "eval", "real.jsonl", "--lang", "de", code=5)
    assert "no labelled texts match" in err


def test_misses_explain_a_cancelled_hit(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "m.tsv").write_text("Эвакуировали автомобиль и людей\tevacuation\tyes\n", encoding="utf-8")
    (miss,) = json.loads(run(capsys, "rules", "eval", "m.tsv", "--json")[0])["errors"]
    assert miss["words"] == ["Эвакуировали"]
    assert "cancelled by unless_near 'автомобиль'" in miss["note"]


def test_packs_from_the_command_line_are_used(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "d.tsv").write_text("Над городом сбили два беспилотника\tdrones\tyes\n", encoding="utf-8")
    data = json.loads(run(capsys, "rules", "eval", "d.tsv", "--pack", "shelling", "--json")[0])
    assert data["rules"]["drones"]["tp"] == 1


@pytest.mark.parametrize(
    ("name", "content", "where", "problem"),
    [
        ("a.tsv", "ok text\tshelling\tyes\nonly two\tcolumns\n", "a.tsv:2", "three tab-separated columns"),
        ("b.tsv", "# c\ntext\tshelling\tmaybe\n", "b.tsv:2", "must be yes or no"),
        (
            "c.jsonl",
            '{"text": "x", "labels": {"shelling": true}}\n{"text": "y", "labels"\n',
            "c.jsonl:2",
            "not valid JSON",
        ),
        ("d.jsonl", '{"text": "x", "labels": {"shelling": "yes"}}\n', "d.jsonl:1", "must be true or false"),
        ("e.jsonl", '["text"]\n', "e.jsonl:1", "JSON object"),
        ("f.jsonl", '{"labels": {"shelling": true}}\n', "f.jsonl:1", '"text"'),
        ("g.tsv", "a\tshelling\tyes\na\tshelling\tno\n", "g.tsv:2", "contradicts"),
    ],
)
def test_bad_input_is_one_line_with_file_and_line_and_exit_3(
    env: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, where: str, problem: str
) -> None:
    (env / name).write_text(content, encoding="utf-8")
    _, err = run(capsys, "rules", "eval", name, code=3)
    first = err.strip().splitlines()[0]
    assert where in first
    assert problem in first
    assert "Traceback" not in err


def test_binary_file_is_a_clean_error(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "bin.tsv").write_bytes(b"\xff\xfe\x00garbage")
    _, err = run(capsys, "rules", "eval", "bin.tsv", code=3)
    assert "not UTF-8" in err


def test_format_is_sniffed_when_the_extension_says_nothing() -> None:
    jsonl = read_examples(['{"text": "a", "labels": {"r": true}}'], "labels")
    tsv = read_examples(["a\tr\tno"], "labels")
    assert jsonl[0].labels == {"r": True}
    assert tsv[0].labels == {"r": False}
    with pytest.raises(EvalInputError, match="labels:1"):
        read_examples(["{broken"], "labels")


def test_core_counts_and_select() -> None:
    examples = read_examples(
        [record("обстрел", "dev", "ru", r=True), record("тишина", "test", "ru", r=True)], "x.jsonl"
    )
    m = compile_rules([RuleSpec("r", any_=("обстрел",))])
    ev = evaluate(m, m.names, examples)
    assert (ev.total.tp, ev.total.fn, ev.total.precision, ev.total.recall) == (1, 1, 1.0, 0.5)
    assert ev.by_rule_lang[("r", "ru")].n == 2
    assert [e.text for e in select(examples, split="test")] == ["тишина"]


def test_labels_only_for_unknown_rules_score_nothing_and_name_the_rules(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (env / "l.tsv").write_text("x\tnosuchrule\tyes\nОбстрел\tshellng\tyes\n", encoding="utf-8")
    data = json.loads(run(capsys, "rules", "eval", "l.tsv", "--json")[0])
    assert data["micro"]["n"] == 0
    assert (data["micro"]["precision"], data["micro"]["recall"], data["micro"]["f1"]) == (None, None, None)
    out, err = run(capsys, "rules", "eval", "l.tsv")
    total = next(line for line in out.splitlines() if "micro total" in line)
    assert "n/a" in total
    assert "1.00" not in total
    assert "nosuchrule (1 label)" in err
    assert "shellng (1 label, did you mean 'shelling'?)" in err
