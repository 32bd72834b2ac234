"""Diagnostics for `telewatch rules check`: terms that expand to suspiciously many or no forms."""

from __future__ import annotations

from dataclasses import dataclass

from bot.rules import CompiledRules
from bot.rules.morph import analyzer, languages

MANY_FORMS = 250  # a verb with its participles has ~200 forms; more means several lemmas were merged
SHORT_PREFIX = 4


@dataclass(frozen=True, slots=True)
class TermCheck:
    """One term of one rule: what it expands to and, if anything looks wrong, a warning."""

    rule: str
    role: str
    term: str
    kind: str
    languages: tuple[str, ...]
    forms: int
    examples: tuple[str, ...]
    warning: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "role": self.role,
            "term": self.term,
            "kind": self.kind,
            "languages": list(self.languages),
            "forms": self.forms,
            "examples": list(self.examples),
            "warning": self.warning,
        }


def _known(word: str, langs: tuple[str, ...]) -> bool:
    if langs == ("en",):
        from lemminflect import getAllLemmas

        return bool(getAllLemmas(word))
    return any(analyzer(lang).word_is_known(word) for lang in langs if lang in ("ru", "uk"))


def check_rules(rules: CompiledRules) -> list[TermCheck]:
    """A TermCheck for every term of every rule, in rule order."""
    t = rules.tables
    out: list[TermCheck] = []
    for rule in t.rules:
        roles = [("any", x) for x in rule.any_] + [("all", x) for x in rule.all_]
        roles += [("near", x) for a, b, _ in rule.near for x in (a, b)] + [("none", x) for x in rule.none_]
        roles += [(g.kind, x) for g in rule.gates for x in g.others]
        for role, tid in roles:
            term = t.terms[tid]
            atoms = [t.atoms[a] for a in t.term_atoms[tid]]
            forms = sum(len(a.forms) for a in atoms)
            langs = tuple(dict.fromkeys(lang for a in atoms for lang in languages(a.word)))
            examples = tuple(sorted(f for a in atoms for f in a.forms)[:6])
            warning = None
            for a in atoms:
                if a.word.isdigit():
                    continue
                if a.mode == "prefix" and len(a.word) < SHORT_PREFIX:
                    warning = f"prefix '{a.word}*' is short and may match many unrelated words"
                elif a.mode == "forms" and len(a.forms) > MANY_FORMS:
                    warning = f"'{a.word}' expands to {len(a.forms)} forms; several words may be merged"
                elif a.mode == "forms" and len(a.forms) == 1 and not _known(a.word, langs):
                    warning = f"'{a.word}' is in no dictionary and has no other forms; check the spelling"
                elif a.mode == "family" and not _known(a.word, langs):
                    warning = (
                        f"'{a.word}' is not in the dictionary, so ~{a.word} has no word family; check it"
                    )
                elif a.mode == "forms" and not _known(a.word, langs):
                    warning = f"'{a.word}' is not in the dictionary; its forms are predicted, check them"
            out.append(TermCheck(rule.name, role, term.raw, term.kind, langs, forms, examples, warning))
    return out
