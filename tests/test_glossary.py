"""One glossary for both languages: every Korean text of the lab and of the built-in lessons
uses its terms, none of the variants it rules out, and no semicolon inside a sentence."""
import re

import pytest

from cyconv import lessons
from cyconv.lab import i18n
from cyconv.lab.texts import TEXTS
from cyconv.lab.texts.glossary import GLOSSARY, avoided_variants, term


def _korean_lesson_texts():
    for lesson in lessons.builtin_lessons():
        yield f"{lesson.name}.title", lesson.title["ko"]
        for index, step in enumerate(lesson.steps):
            yield f"{lesson.name}.steps[{index}]", step.text["ko"] + " " + " ".join(step.tasks["ko"])
        for qid, question in lesson.questions.items():
            yield f"{lesson.name}.{qid}", question.prompt["ko"] + " " + " ".join(question.options.get("ko", []))
        for index, mistake in enumerate(lesson.mistakes):
            yield f"{lesson.name}.mistakes[{index}]", mistake.text["ko"]


KOREAN = [(key, ko) for key, (_, ko) in TEXTS.items()] + list(_korean_lesson_texts())


@pytest.mark.parametrize("variant,right", sorted(avoided_variants().items()))
def test_no_korean_text_uses_a_variant_the_glossary_rules_out(variant, right):
    offenders = [key for key, ko in KOREAN if variant in ko]
    assert not offenders, f"use {right!r}, not {variant!r}: {offenders}"


def test_no_semicolon_inside_a_korean_sentence():
    # A semicolon between a formula's parts (OH = ...; OW = ...) comes from the engine, not prose.
    offenders = [key for key, ko in KOREAN if re.search(r"[가-힣][^;\n]{0,3};", ko)]
    assert not offenders


def test_a_term_follows_the_language():
    i18n.set_language("ko")
    try:
        assert term("activation_map") == "활성화 맵" and term("edge") == "외곽"
    finally:
        i18n.set_language("en")
    assert term("activation_function") == "activation function"
    assert len(GLOSSARY) >= 25
