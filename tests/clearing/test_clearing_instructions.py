"""Minimal settlement instructions: exact search vs brute force, the n - 1 bound (pure)."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from jiaolong_ledger.clearing.instructions import (
    EXACT_PARTICIPANTS_MAX,
    minimal_transfers,
    zero_sum_groups,
)


def _partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _partitions(rest):
        for index in range(len(partition)):
            yield [*partition[:index], [first, *partition[index]], *partition[index + 1 :]]
        yield [[first], *partition]


def brute_force_minimum(nets: list[int]) -> int:
    """n minus the largest number of zero-sum blocks over every set partition."""
    values = [v for v in nets if v != 0]
    best = 0
    for partition in _partitions(list(range(len(values)))):
        if all(sum(values[i] for i in block) == 0 for block in partition):
            best = max(best, len(partition))
    return len(values) - best


def _zero_sum(values: list[int]) -> dict[str, int]:
    return {f"p{index:02d}": value for index, value in enumerate([*values, -sum(values)])}


def _applied(nets: dict[str, int], transfers: list[tuple[str, str, int]]) -> dict[str, int]:
    moved = dict.fromkeys(nets, 0)
    for payer, payee, amount in transfers:
        assert amount > 0 and payer != payee
        moved[payer] -= amount
        moved[payee] += amount
    return moved


small_positions = st.lists(st.integers(-40, 40), min_size=1, max_size=6).map(_zero_sum)
large_positions = st.lists(
    st.integers(-(10**9), 10**9), min_size=EXACT_PARTICIPANTS_MAX + 2, max_size=60
).map(_zero_sum)


@settings(max_examples=60, deadline=None)
@given(small_positions)
def test_exact_search_finds_the_minimum(nets: dict[str, int]) -> None:
    transfers, method = minimal_transfers(nets)
    assert _applied(nets, transfers) == nets
    assert len(transfers) == brute_force_minimum(list(nets.values()))
    assert method in ("exact", "none")


@settings(max_examples=40, deadline=None)
@given(large_positions)
def test_greedy_realises_positions_within_n_minus_one(nets: dict[str, int]) -> None:
    transfers, method = minimal_transfers(nets)
    assert _applied(nets, transfers) == nets
    participants = sum(1 for v in nets.values() if v != 0)
    assert len(transfers) <= max(participants - 1, 0)
    assert method in ("greedy", "exact", "none")


def test_worked_instruction_examples() -> None:
    # The pair {a, b} and the group {c, d, e}: 5 - 2 = 3 transfers.
    nets = {"a": -500, "b": 500, "c": -300, "d": 200, "e": 100}
    transfers, method = minimal_transfers(nets)
    assert method == "exact" and len(transfers) == 3
    # {a:-5, b:-3, c:4, d:4}: no zero-sum subgroup -> n - 1 = 3.
    assert len(minimal_transfers({"a": -5, "b": -3, "c": 4, "d": 4})[0]) == 3
    # {a:-6, b:-4, c:3, d:3, e:4}: {b, e} and {a, c, d} -> 5 - 2 = 3; greedy gives 4.
    transfers, _ = minimal_transfers({"a": -6, "b": -4, "c": 3, "d": 3, "e": 4})
    assert sorted(transfers) == [("a", "c", 3), ("a", "d", 3), ("b", "e", 4)]
    assert minimal_transfers({"a": 0, "b": 0}) == ([], "none")


def test_zero_sum_groups_partition() -> None:
    values = [3, -3, 5, 2, -7, 1, -1]
    groups = zero_sum_groups(values)
    assert sorted(i for group in groups for i in group) == list(range(len(values)))
    assert all(sum(values[i] for i in group) == 0 for group in groups)
    assert len(groups) == 3
