import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vnsearch.query import ast
from vnsearch.query.syntax import QueryError, parse, plain_text, segment_query


@pytest.mark.parametrize(
    "query,expected",
    [
        ("công nghệ thông tin", "công_nghệ thông_tin"),
        ("Công Nghệ", "công_nghệ"),
        ("ha noi", "ha noi"),  # no diacritics: syllables, not invented words
        ("hoà bình", "hòa_bình"),
        ('"công nghệ thông tin"', '"công_nghệ thông_tin"'),
        ('"công nghệ"~2^3', '"công_nghệ"~2^3'),
        ("title:Hà Nội", "title:hà_nội"),
        ("Lưu ý: giá vàng", "lưu_ý giá vàng"),  # unknown field: the colon is punctuation
        ("công nghệ OR (kinh tế AND NOT Pleiku)", "công_nghệ OR ( kinh_tế AND NOT pleiku )"),
        ("cô* ng?y", "cô* ng?y"),
        ("Ai là người phát minh ra máy tính?", "ai là người phát_minh ra máy_tính"),
        ("Vì sao? Tại sao, thế nào.", "vì_sao tại_sao thế_nào"),
        ("date:[2023-01 TO 2023-06]", "date:[2023-01 TO 2023-06]"),
        ("date:>=2023-07", "date:[2023-07 TO]"),
        ("date:>2023-07", "date:{2023-07 TO]"),  # after July
        ("date:<2023", "date:[TO 2023}"),  # before 2023: 2023 itself excluded
        ("kinh tế^2", "kinh_tế^2"),
        ("ở à ạ ý", "ở à ạ ý"),
        ("ban.doc@example.com", "'ban.doc@example.com'"),
    ],
)
def test_segment_query(query, expected):
    assert segment_query(query) == expected


@pytest.mark.parametrize(
    "query,position",
    [("(a b", 0), ("a ) b", 2), ("AND a", 0), ("a OR", 2), ('"abc', 0), ("[a b]", 0), ("x^", 1), ("a [b TO c", 2)],
)
def test_errors_have_positions(query, position):
    with pytest.raises(QueryError) as info:
        segment_query(query)
    assert info.value.position == position
    assert info.value.caret().splitlines()[1] == " " * position + "^"


def test_questions_produce_no_wildcards(tmp_path):
    from conftest import XQUAD

    path = XQUAD / "queries-dev.tsv"
    if not path.exists():
        pytest.skip("XQuAD queries not present")
    kinds = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        _, question = line.split("\t", 1)
        kinds |= {type(n) for n in parse(question).leaves()}
    assert kinds <= {ast.Term, ast.Phrase}  # quoted titles are phrases; nothing is a pattern


syntax = st.sampled_from(['"', "(", ")", "[", "]", "{", "}", " TO ", " AND ", " OR ", " NOT ", "title:", "date:", "^2", "~", "*", "?", ":", "'", " "])


@given(st.lists(st.one_of(st.text(max_size=8), syntax), max_size=12).map("".join))
@settings(max_examples=500, deadline=None)
def test_fuzz_only_result_or_query_error(q):
    try:
        parsed = parse(q)
    except QueryError as e:
        assert 0 <= e.position <= len(q)
        return
    for n in parsed.root.walk() if parsed.root else ():  # every node points into the query
        assert 0 <= n.start <= n.end <= len(parsed.text), n
    assert isinstance(ast.render(parsed.root), str)


@pytest.mark.parametrize("text, plain", [
    ("hà nội", True), ("ai là người đầu tiên?", True), ("ha?noi", False), ("title:hà", False),
    ('"hà nội"', False), ("hà AND nội", False), ("hà*", False), ("(a b)", False), ("hà^2", False),
])
def test_plain_text(text, plain):
    assert plain_text(text) is plain


def test_quoted_raw_values_keep_their_spaces():
    assert segment_query('path:"ghi chú/a b.txt" hà nội') == "path:'ghi chú/a b.txt' hà_nội"
    with pytest.raises(QueryError, match="unterminated quote"):
        segment_query('id:"a b')
    with pytest.raises(QueryError, match="needs a value"):
        segment_query('id:""')


@pytest.mark.parametrize("query", ["title:", "hà nội title:  ", "(date:)"])
def test_field_with_nothing_after_it_is_an_error(query):
    with pytest.raises(QueryError, match="needs a value"):
        segment_query(query)


def test_field_name_then_space_stays_text():
    assert segment_query("title: abc") == "title abc"  # a colon in running text is not a filter


@pytest.mark.parametrize("query, tree", [
    ("a b OR c", "seq(a, or(b, c))"),
    ("a AND b OR c", "or(and(a, b), c)"),
    ("a OR b AND c", "or(a, and(b, c))"),
    ("a ANDNOT b OR c", "andnot(a, or(b, c))"),
    ("a OR b ANDNOT c", "andnot(or(a, b), c)"),
    ("NOT a b", "seq(not(a), b)"),
    ("-a b", "seq(not(a), b)"),
    ("(a b) OR c d", "seq(or((seq(a, b)), c), d)"),
    ("title:(a b)", "title:(seq(a, b))"),
])
def test_operator_precedence(query, tree):
    def show(n):
        if isinstance(n, ast.Term):
            return n.text
        if isinstance(n, ast.Not):
            return f"not({show(n.child)})"
        inner = f"{n.op}({', '.join(show(c) for c in n.items)})"
        return f"{n.field + ':' if n.field else ''}({inner})" if n.paren else inner
    assert show(parse(query).root) == tree


def test_nodes_know_where_they_were_typed():
    q = 'Giá vàng "Hà Nội" date:2023 cô*'
    leaves = parse(q).leaves()
    assert [q[n.start : n.end] for n in leaves] == ["Giá", "vàng", '"Hà Nội"', "date:2023", "cô*"]
    assert [type(n).__name__ for n in leaves] == ["Term", "Term", "Phrase", "Term", "Pattern"]


def test_plain_queries_keep_their_syllables():
    p = parse("Công nghệ mới")
    assert p.plain and [s for s, _, _ in p.syllables] == ["công", "nghệ", "mới"]
    again = p.with_words([("công_nghệ", 0, 9), ("mới", 10, 13)])
    assert ast.render(again.root) == "công_nghệ mới"
    assert not parse('"công nghệ"').plain
