"""Every text exists in every language, with the same placeholders; reasons and bands line up."""
from __future__ import annotations

import string

import pytest

from surveys.i18n import TEXTS, pick_language, translate
from surveys.reasons import BANDS, REASONS, band_of, reasons_for_band


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", ["de", "fr"])
def test_every_english_text_is_translated_with_the_same_placeholders(language):
    assert set(TEXTS[language]) == set(TEXTS["en"])
    for key, english in TEXTS["en"].items():
        assert _placeholders(TEXTS[language][key]) == _placeholders(english), key
        assert TEXTS[language][key].strip(), key


def test_every_reason_has_words():
    for band in BANDS:
        for key in REASONS[band]:
            assert f"reason.{key}" in TEXTS["en"]
    assert {key.removeprefix("reason.") for key in TEXTS["en"] if key.startswith("reason.")} == \
        {key for band in BANDS for key in REASONS[band]}


def test_bands_of_the_happiness_formula():
    assert [band_of(rating) for rating in range(11)] == ["negative"] * 7 + ["neutral"] * 2 + ["positive"] * 2
    with pytest.raises(ValueError):
        band_of(11)


def test_reasons_outside_the_band_are_dropped():
    assert reasons_for_band("negative", ["friendly_agent", "too_slow", "too_slow", "x"]) == ["too_slow"]


def test_unknown_language_falls_back_to_english_and_unknown_keys_are_bugs():
    assert translate("es", "submit") == "Send my answer"
    assert pick_language("pt-BR", ["en", "de"]) == "en"
    assert pick_language(None, ["de", "en"]) == "de"
    with pytest.raises(KeyError):
        translate("en", "no_such_text")
