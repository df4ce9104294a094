"""The llm poem writer on a tiny random LM: real loading, templating, decoding and validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from generators.errors import GenerationError  # noqa: E402
from generators.poem.llm import (  # noqa: E402
    LLMPoemWriter,
    LLMPoemWriterOptions,
    candidate_lines,
    clean_poem_text,
    pick_haiku,
)

pytestmark = pytest.mark.neural

VALID = ("the old moon rises", "a heron stands in the stream", "cold wind on the reeds")


class ScriptedGenerate:
    """Stands in for `model.generate`: appends scripted replies' token ids, records each prompt."""

    def __init__(self, tokenizer: Any, replies: list[str]) -> None:
        self.tokenizer = tokenizer
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.kwargs: list[dict[str, Any]] = []

    def __call__(self, input_ids: Any, attention_mask: Any = None, **kwargs: Any) -> Any:
        self.prompts.append(self.tokenizer.decode(input_ids[0]))
        self.kwargs.append(kwargs)
        reply = self.replies.pop(0)
        ids = self.tokenizer(reply, return_tensors="pt", add_special_tokens=False)["input_ids"]
        return torch.cat([input_ids, ids], dim=-1)


def _writer(folder: Path, **kwargs: Any) -> LLMPoemWriter:
    return LLMPoemWriter(LLMPoemWriterOptions(str(folder), device="cpu", dtype="float32", **kwargs))


def _script(
    writer: LLMPoemWriter, replies: list[str], monkeypatch: pytest.MonkeyPatch
) -> ScriptedGenerate:
    loaded = writer.load()
    fake = ScriptedGenerate(loaded.tokenizer, replies)
    monkeypatch.setattr(loaded.model, "generate", fake)
    return fake


def test_chat_template_prompting(tiny_chat_lm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = _writer(tiny_chat_lm)
    fake = _script(writer, ["\n".join(VALID)], monkeypatch)
    poem = writer.write(seed=7)
    assert poem.lines == VALID
    assert "<|system|>" in fake.prompts[0]
    assert fake.prompts[0].rstrip().endswith("<|assistant|>")
    assert fake.kwargs[0]["do_sample"] is True


def test_plain_prompting_without_template(
    tiny_plain_lm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _writer(tiny_plain_lm)
    fake = _script(writer, ["\n".join(VALID)], monkeypatch)
    writer.write(seed=7)
    assert "<|user|>" not in fake.prompts[0]
    assert fake.prompts[0].rstrip().endswith(":")


def test_retries_until_a_valid_haiku(tiny_chat_lm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [
        "moon moon moon",
        "Here is a haiku:\n1. the old moon\n2. a heron stands in the stream\n3. cold wind",
        'Sure! Here is your haiku:\n\n"the old moon rises"\n- a heron stands in the stream (7)\n'
        "cold wind on the reeds\n\nI hope you like it.",
    ]
    writer = _writer(tiny_chat_lm, max_attempts=3)
    fake = _script(writer, replies, monkeypatch)
    poem = writer.write(seed=1)
    assert len(fake.prompts) == 3
    assert poem.lines == VALID
    assert poem.engine == "llm"
    assert poem.model == str(tiny_chat_lm)
    assert {"moon", "river"} <= set(poem.imagery)


def test_gives_up_with_a_clear_error(tiny_chat_lm: Path) -> None:
    # The real random model, sampling for real: it never writes 5-7-5.
    writer = _writer(tiny_chat_lm, max_attempts=2, max_new_tokens=12)
    with pytest.raises(GenerationError, match="no valid 5-7-5 haiku in 2 attempts"):
        writer.write(seed=3)


def test_falls_back_to_the_grammar_writer_when_allowed(
    tiny_chat_lm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _writer(tiny_chat_lm, max_attempts=2, fallback=True)
    _script(writer, ["not a poem", "still not"], monkeypatch)
    poem = writer.write(seed=3)
    assert poem.engine == "grammar"
    assert poem.fallback is not None and "no valid 5-7-5 haiku in 2 attempts" in poem.fallback


def test_sampling_is_seeded(tiny_plain_lm: Path) -> None:
    writer = _writer(tiny_plain_lm, max_new_tokens=10)
    loaded = writer.load()
    from generators.poem.llm import build_prompt
    from generators.torch_runtime import seed_everything

    replies = []
    for _ in range(2):
        seed_everything(5)
        replies.append(writer._generate(loaded, build_prompt(loaded.tokenizer, seed=5)))
    assert replies[0] == replies[1]


def test_options_are_validated(tiny_chat_lm: Path) -> None:
    writer = LLMPoemWriter(
        LLMPoemWriterOptions(model=str(tiny_chat_lm), max_attempts=2, fallback=True)
    )
    assert (writer.options.max_attempts, writer.options.fallback) == (2, True)
    with pytest.raises(ValueError, match="max_attempts"):
        LLMPoemWriterOptions(model="x", max_attempts=0)
    with pytest.raises(TypeError, match="bogus"):
        LLMPoemWriterOptions(model="x", bogus=1)  # type: ignore[call-arg]


def test_missing_weights_fail_without_downloading() -> None:
    writer = LLMPoemWriter(LLMPoemWriterOptions("kavi-test/not-pulled", device="cpu"))
    with pytest.raises(GenerationError, match="models pull"):
        writer.write(seed=1)


@pytest.mark.parametrize(
    ("reply", "lines"),
    [
        ("a\nb\nc\nd", ["a", "b", "c"]),
        ("Haiku:\n```\none\ntwo\nthree\n```", ["one", "two", "three"]),
        ("one / two / three", ["one", "two", "three"]),
        ("one\ntwo\n\nthree", ["one", "two", "three"]),
        ("“one”\n*two*\nthree (5 syllables)", ["one", "two", "three"]),
    ],
)
def test_clean_poem_text(reply: str, lines: list[str]) -> None:
    assert clean_poem_text(reply) == lines


@pytest.mark.parametrize(
    ("reply", "lines"),
    [
        # A reasoning model thinks first; its thoughts may count like a poem.
        ("<think>five: the old moon rises\nseven...</think>\n" + "\n".join(VALID), list(VALID)),
        # The template opened the block in the prompt: only its end is in the reply.
        ("the old moon rises, I think\n</think>\n\n" + "\n".join(VALID), list(VALID)),
        # A title (and a blank line) before the poem.
        ("**Heron at Dawn**\n\n" + "\n".join(VALID), list(VALID)),
        ("Moonrise\n" + "\n".join(VALID), list(VALID)),
        ("1. " + VALID[0] + "\n2. " + VALID[1] + "\n3. " + VALID[2], list(VALID)),
    ],
)
def test_the_poem_is_found_in_the_reply(reply: str, lines: list[str]) -> None:
    assert pick_haiku(candidate_lines(reply)) == (lines, [])


def test_an_unclosed_think_block_leaves_nothing() -> None:
    lines, problems = pick_haiku(candidate_lines("<think>\n" + "\n".join(VALID)))
    assert lines == [] and problems == ["a haiku has 3 lines, got 0"]


def test_the_closest_lines_and_their_counts_are_reported() -> None:
    lines, problems = pick_haiku(["moonrise", VALID[0], VALID[1], "cold wind on reeds"])
    assert lines == [VALID[0], VALID[1], "cold wind on reeds"]
    assert problems == ["line 3 has 4 syllables, needs 5"]


def test_a_retry_tells_the_model_what_was_wrong(
    tiny_chat_lm: Path, tiny_plain_lm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = f"{VALID[0]}\n{VALID[1]}\ncold wind on reeds"
    for folder in (tiny_chat_lm, tiny_plain_lm):
        writer = _writer(folder, max_attempts=2)
        fake = _script(writer, [short, "\n".join(VALID)], monkeypatch)
        assert writer.write(seed=4).lines == VALID
        assert "line 3 has 4 syllables, needs 5" not in fake.prompts[0]
        assert "line 3 has 4 syllables, needs 5" in fake.prompts[1]
        assert "cold wind on reeds" in fake.prompts[1]


def test_sampling_follows_the_model_card(
    tiny_chat_lm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = _writer(tiny_chat_lm)
    fake = _script(writer, ["\n".join(VALID)], monkeypatch)
    writer.write(seed=2)
    assert (fake.kwargs[0]["temperature"], fake.kwargs[0]["top_p"]) == (0.2, 0.9)
