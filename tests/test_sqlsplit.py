"""Statement splitting for non-transactional changes: quotes, dollar quotes and comments."""

from __future__ import annotations

from orgbase.migrate.sqlsplit import split_statements


def test_plain_statements() -> None:
    assert split_statements("select 1; select 2;\n\n") == ["select 1", "select 2"]


def test_semicolons_inside_quotes_comments_and_bodies() -> None:
    script = """
    -- a comment; with a semicolon
    select 'a;b', "we;ird", E'it\\'s;';
    /* block; /* nested; */ still; */ select 2;
    create function f() returns int language plpgsql as $body$ begin return 1; end $body$;
    do $$ begin raise notice 'x;y'; end $$;
    select $1, a$b from t;
    """
    parts = split_statements(script)
    assert len(parts) == 5
    assert parts[0].endswith("""select 'a;b', "we;ird", E'it\\'s;'""")
    assert parts[2].startswith("create function") and parts[2].endswith("$body$")
    assert parts[4] == "select $1, a$b from t"


def test_comment_only_fragments_are_dropped() -> None:
    assert split_statements("select 1; -- trailing\n/* end */") == ["select 1"]
