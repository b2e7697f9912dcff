"""``store._split_database`` (used by ``ensure_database`` and ``drop_database``) on the URL
shapes medium meets, including the embedded server's socket path in the query."""

from __future__ import annotations

from synthesis import store


def test_a_tcp_url() -> None:
    assert store._split_database("postgresql://u@h:5432/medium") == ("postgresql://u@h:5432/postgres", "medium")


def test_a_socket_path_in_the_query_is_not_the_database() -> None:
    url = "postgresql://postgres:@/medium_x?host=/tmp/data/pg"
    assert store._split_database(url) == ("postgresql://postgres:@/postgres?host=/tmp/data/pg", "medium_x")
