"""hujson: the policies real servers stored (tests/fixtures/node-scenarios/<version>/), comments and all."""

from __future__ import annotations

from ansible_collections.selfhosted.headscale.plugins.module_utils import hujson

from tests.unit.recordings import recorded_policy_texts


def test_recorded_policy_keeps_comments_and_parses(version):
    texts = recorded_policy_texts(version)
    for text in texts.values():
        assert "// recorded by" in text  # headscale stores the text verbatim
        assert hujson.parse(text)["tagOwners"] == {"tag:web": ["alice@"]}
    # The CLI prints one extra newline; meaning is the same.
    assert hujson.canonical(hujson.parse(texts["cli"])) == hujson.canonical(hujson.parse(texts["api"]))
