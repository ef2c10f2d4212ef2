"""Any symbol: quoted symbols ("-", ",", " ", "🙂") and Unicode names (é) in specs, words, the
CLI, the weight file and explain pages; errors that say what a symbol may be."""

from __future__ import annotations

import json

import pytest

import logdepth
from logdepth.cli import main
from logdepth.errors import DSLError, InputError, SpecError
from logdepth.model.inputs import format_word, parse_word

# Parity of the 🙂s over the alphabet of the issue: "-", "+", é, "🙂".
SIGNS = """\
dfa signs {
    alphabet: "-", "+", é, "🙂"
    start: even
    accept: even
    even "-", "+", é -> even
    even "🙂" -> odd
    odd "-", "+", é -> odd
    odd "🙂" -> even
}
check signs accepts "", "-+é", "🙂🙂", "-🙂+🙂"
check signs rejects "🙂", "é🙂"

regex tail {
    alphabet: "-", "+", é, "🙂"
    pattern: "(-|\\\\+)*é🙂"
}
check tail accepts "é🙂", "-+é🙂"
check tail rejects "", "é", "🙂é🙂"

count dashes {
    alphabet: "-", "+", é, "🙂"
    weights: "-" = 1, é = 2
    modulus: 3
    accept: 0
}

dfa spaced {
    alphabet: "a b", " ", ","
    start: q
    accept: q
    states: q, r
    q "a b", " " -> q
    q "," -> r
    r "a b", " ", "," -> r
}
check spaced accepts "\\"a b\\" \\" \\"", ""
check spaced rejects ","
"""

ALPHABET = ("-", "+", "é", "🙂")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def spec():
    return logdepth.parse(SIGNS)


def test_quoted_and_unicode_symbols_lower(spec):
    assert spec["signs"].alphabet == ALPHABET
    assert spec["tail"].alphabet == ALPHABET
    assert spec["spaced"].alphabet == ("a b", " ", ",")
    dashes = spec["dashes"]
    assert dashes.accepts(("-", "-", "-")) and dashes.accepts(("-", "é"))
    assert not dashes.accepts(("-",)) and dashes.accepts(("+", "🙂"))
    # The oracles agree with every check statement.
    from logdepth.dsl.checks import run_checks

    results = run_checks(spec)
    assert results and all(r.passed for r in results)


def test_fmt_keeps_quoted_symbols_quoted(spec):
    text = logdepth.dsl.format(spec)
    assert 'alphabet: "-", "+", é, "🙂"' in text
    assert 'even "-", "+", é -> even' in text
    assert 'weights: "-" = 1, é = 2' in text
    assert 'check spaced accepts "\\"a b\\" \\" \\"", ""' in text
    again = logdepth.parse(text)
    assert again == spec
    assert logdepth.dsl.format(again) == text


def test_word_rule_round_trips_any_symbol():
    # One-character alphabets: plain strings; whitespace ignored unless it is a symbol.
    assert parse_word("-+ é🙂", ALPHABET) == ("-", "+", "é", "🙂")
    assert parse_word("a b", ("a", "b", " ")) == ("a", " ", "b")
    # Otherwise symbols are separated by spaces; one with a space or a leading quote is quoted.
    alphabet = ("a b", " ", ",", '"x', "ab")
    word = ("a b", " ", ",", '"x', "ab", "a b")
    text = format_word(word, alphabet)
    assert text == '"a b" " " , "\\"x" ab "a b"'
    assert parse_word(text, alphabet) == word
    assert parse_word('"ab" ab', alphabet) == ("ab", "ab")  # any symbol may be quoted


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"a b', "unterminated quoted symbol at position 1"),
        ('"a b"x', "a quoted symbol ends with '\"' followed by a space"),
        ("a b", "symbol 'a' at position 1"),
    ],
)
def test_word_rule_errors(text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        parse_word(text, ("a b", " "))


def test_unknown_symbol_error_lists_quoted_alphabet():
    with pytest.raises(InputError) as err:
        parse_word("-x", ALPHABET)
    assert 'not in the alphabet {"-", "+", é, "🙂"}' in str(err.value)


@pytest.mark.parametrize(
    ("alphabet", "message"),
    [
        # The forms of the issue: an unquoted "-" and "🙂" say that they need quotes.
        ("0, 1, -", "any other symbol is written in double quotes: \"-\""),
        ("a, 🙂", "any other symbol is written in double quotes: \"🙂\""),
        ('"a", (1 2)', "alphabet: expected symbols, not cycles; a symbol is a name"),
        ("a = 1", "alphabet: expected symbols, not an assignment"),
        ('""', "'' cannot be a symbol"),
        ('"<bos>"', "'<bos>' cannot be a symbol"),
        ('"<$>"', "'<$>' cannot be a symbol"),
        ('a, "a"', "duplicate symbol 'a'"),
    ],
)
def test_bad_alphabets_say_what_is_allowed(alphabet, message):
    text = f"dfa d {{\n    alphabet: {alphabet}\n    start: q\n    accept: q\n    q a -> q\n}}\n"
    with pytest.raises((DSLError, SpecError)) as err:
        logdepth.parse(text)
    assert message in str(err.value)
    assert err.value.line == 2


def test_bad_symbol_in_transition_and_quoted_state():
    text = "dfa d {\n    alphabet: a\n    start: q\n    q - -> q\n}\n"
    with pytest.raises(DSLError, match='double quotes: "-"'):
        logdepth.parse(text)
    text = 'dfa d {\n    alphabet: a\n    start: "q"\n    q a -> q\n}\n'
    with pytest.raises(SpecError, match="quoted strings are for symbols only"):
        logdepth.parse(text)
    text = 'dfa d {\n    alphabet: "-"\n    start: q\n    q "+" -> q\n}\n'
    with pytest.raises(SpecError) as err:
        logdepth.parse(text)
    assert "undefined symbol '+': not in the alphabet of 'd' (\"-\")" in str(err.value)


def test_unicode_digits_are_not_numbers():
    # "²" is a name (Unicode letters and digits are), but not a number int() reads.
    text = "count c {\n    alphabet: a\n    modulus: ²\n}\n"
    with pytest.raises(SpecError, match="the modulus must be a whole number, not '²'"):
        logdepth.parse(text)


@pytest.mark.parametrize(
    "construction",
    [
        pytest.param("uniform", marks=pytest.mark.slow),  # verify's traces: ~10 s
        pytest.param("wide", marks=pytest.mark.slow),
        "counting",
        "solvable",
        "auto",
    ],
)
def test_signs_compile_run_verify(construction, spec, tmp_path, capsys):
    path = tmp_path / "signs.ld"
    path.write_text(SIGNS, encoding="utf-8")
    out = tmp_path / "signs.safetensors"
    code, _, _ = run(capsys, "compile", str(path), "--name", "signs", "--construction",
                     construction, "-o", str(out))
    assert code == 0
    model = logdepth.load(out)  # labels and alphabet come back from the file's metadata
    assert tuple(model.alphabet) == ALPHABET
    words = ["", "-+é", "🙂🙂", "-🙂+🙂", "🙂", "é🙂"]
    code, text, _ = run(capsys, "run", str(out), "--json", "--", *words)
    assert code == 0
    answers = [json.loads(line) for line in text.splitlines()]
    assert [a["word"] for a in answers] == words
    want = ["accept" if spec["signs"].accepts(parse_word(w, ALPHABET)) else "reject" for w in words]
    assert [a["answer"] for a in answers] == want
    assert want.count("accept") == 4
    code, text, _ = run(capsys, "verify", str(out), "--exhaustive", "3", "--max-length", "8",
                        "--samples", "10", "--budget", "1")
    assert code == 0, text
    assert text.splitlines()[-1].startswith("OK")


@pytest.mark.slow
def test_starfree_and_nonuniform_with_symbols(spec, tmp_path, capsys):
    path = tmp_path / "signs.ld"
    path.write_text(SIGNS, encoding="utf-8")
    for name, extra in (("tail", ["--construction", "starfree"]),
                        ("signs", ["--construction", "nonuniform", "--max-length", "12"])):
        out = tmp_path / f"{name}.safetensors"
        assert run(capsys, "compile", str(path), "--name", name, *extra, "-o", str(out))[0] == 0
        model = logdepth.load(out)
        for word in [(), ("é", "🙂"), ("-", "+", "é", "🙂"), ("🙂",), ("🙂", "🙂")]:
            assert model.accepts(list(word)) == spec[name].accepts(word), (name, word)
        code, text, _ = run(capsys, "verify", str(out), "--exhaustive", "3", "--samples", "10",
                            "--max-length", "8", "--budget", "1")
        assert code == 0, text


def test_spaced_symbols_run_from_the_cli(spec, tmp_path, capsys):
    path = tmp_path / "spaced.ld"
    path.write_text(SIGNS, encoding="utf-8")
    out = tmp_path / "spaced.safetensors"
    assert run(capsys, "compile", str(path), "--name", "spaced", "-o", str(out))[0] == 0
    code, text, err = run(capsys, "run", str(out), '"a b" " "', ", \"a b\"", '"a b', "")
    assert code == 1  # the unterminated quote fails alone
    lines = text.splitlines()
    assert lines[0] == '"a b" " "\taccept'
    assert lines[1] == ', "a b"\treject'
    assert lines[2] == '"a b\terror'
    assert lines[3] == "\taccept"
    assert "unterminated quoted symbol" in err


def test_check_command_runs_weights_on_symbols(tmp_path, capsys):
    path = tmp_path / "signs.ld"
    path.write_text(SIGNS, encoding="utf-8")
    code, text, _ = run(capsys, "check", str(path), "--name", "signs", "--name", "spaced")
    assert code == 0, text
    assert "9 passed, 0 failed" in text


def test_explain_page_escapes_symbols(tmp_path, capsys):
    spec_text = (
        'dfa h {\n    alphabet: "<", "&", "</script>"\n    start: q\n    accept: q\n'
        '    q "<", "&", "</script>" -> q\n}\n'
    )
    path = tmp_path / "h.ld"
    path.write_text(spec_text, encoding="utf-8")
    out = tmp_path / "h.safetensors"
    assert run(capsys, "compile", str(path), "-o", str(out))[0] == 0
    page = tmp_path / "h.html"
    assert run(capsys, "explain", str(out), "< & </script>", "-o", str(page))[0] == 0
    html = page.read_text(encoding="utf-8")
    # Only the page's own three script elements close; the symbol is escaped everywhere.
    assert html.count("</script>") == html.count("<script")
    assert "&lt;/script&gt;" in html and "&amp;" in html
