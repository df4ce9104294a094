"""A GoEmotions classifier on disk reads the poem's emotions instead of the NRC lexicon."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.chain import Chain, emotion_classifier
from bot.settings import load_settings
from generators.mood.emotions import GO_EMOTIONS_TO_MOODS, draw_mood_for_poem
from generators.mood.moods import MOOD_NAMES
from tests.generators.neural.tiny_models import build_tiny_emotion_classifier

pytestmark = pytest.mark.neural
POEM = "the thin ice cracks once\nalone in the cold dying light\nthe grave of the dark year"


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_emotion_classifier(tmp_path_factory.mktemp("models") / "go-emotions")


def test_every_go_emotions_label_leans_to_known_moods() -> None:
    assert len(GO_EMOTIONS_TO_MOODS) == 28
    for label, moods in GO_EMOTIONS_TO_MOODS.items():
        assert set(moods) <= set(MOOD_NAMES), label
        assert sum(moods.values()) == pytest.approx(1.0), label


def test_the_classifier_reads_the_poem_and_is_recorded(classifier: Path) -> None:
    first = draw_mood_for_poem(POEM, 5, MOOD_NAMES, classifier=str(classifier))
    again = draw_mood_for_poem(POEM, 5, MOOD_NAMES, classifier=str(classifier))
    assert first == again
    assert first.source == str(classifier)
    assert set(first.emotions) <= set(GO_EMOTIONS_TO_MOODS) and first.emotions
    assert sum(first.weights.values()) == pytest.approx(1.0, abs=1e-3)
    assert first.record()["emotions_from"] == str(classifier)


def test_the_chain_uses_it_when_on_disk_and_the_lexicon_otherwise(
    classifier: Path, tmp_path: Path
) -> None:
    settings = load_settings(data_dir=tmp_path, image_size=256, emotion_model=str(classifier))
    assert emotion_classifier(settings)[0] == str(classifier)
    artwork = Chain(settings).run(seed=2).artwork
    assert artwork.curation["emotions_from"] == str(classifier)
    absent = load_settings(data_dir=tmp_path, image_size=256, emotion_model=str(tmp_path / "x"))
    model, why = emotion_classifier(absent)
    assert model is None and why.startswith("the NRC lexicon (no folder at")
    assert Chain(absent).run(seed=2).artwork.curation["emotions_from"] == "NRC lexicon"
    off = load_settings(data_dir=tmp_path, emotion_model="none")
    assert emotion_classifier(off) == (None, "the NRC lexicon (EMOTION_MODEL=none)")
