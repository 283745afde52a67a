"""README blocks are rewritten between their markers, empty or not."""

from sim.readme import replace_block


def test_replace_block_fills_empty_and_full_blocks():
    text = "a\n<!-- x:start -->\n<!-- x:end -->\nb\n<!-- y:start -->\nold\nlines\n<!-- y:end -->\n"
    text = replace_block(replace_block(text, "x", "new"), "y", "y1\ny2")
    assert text == "a\n<!-- x:start -->\nnew\n<!-- x:end -->\nb\n<!-- y:start -->\ny1\ny2\n<!-- y:end -->\n"
    assert replace_block(text, "x", "again").count("again") == 1


def test_missing_block_is_an_error():
    import pytest
    with pytest.raises(KeyError, match="no block 'z'"):
        replace_block("no markers here", "z", "body")
