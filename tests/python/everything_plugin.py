"""The Everything contract in Python: every method echoes its argument."""

from __future__ import annotations

from goproc_stubs import everything as ev
from goproc_stubs.everything import (
    EchoError,
    Keywords,
    Marker,
    Page,
    Pair,
    Record_,
    Shape,
    Tree,
)
from goproc_stubs.goproc_runtime import Some


class Echo(ev.Everything):
    async def echo_bool(self, v: bool) -> bool:
        return v

    async def echo_u8(self, v: int) -> int:
        return v

    async def echo_u16(self, v: int) -> int:
        return v

    async def echo_u32(self, v: int) -> int:
        return v

    async def echo_u64(self, v: int) -> int:
        return v

    async def echo_u128(self, v: int) -> int:
        return v

    async def echo_usize(self, v: int) -> int:
        return v

    async def echo_i8(self, v: int) -> int:
        return v

    async def echo_i16(self, v: int) -> int:
        return v

    async def echo_i32(self, v: int) -> int:
        return v

    async def echo_i64(self, v: int) -> int:
        return v

    async def echo_i128(self, v: int) -> int:
        return v

    async def echo_isize(self, v: int) -> int:
        return v

    async def echo_f32(self, v: float) -> float:
        return v

    async def echo_f64(self, v: float) -> float:
        return v

    async def echo_char(self, v: str) -> str:
        return v

    async def echo_string(self, v: str) -> str:
        return v

    async def echo_bytes(self, v: bytes) -> bytes:
        return v

    async def echo_byte_buf(self, v: bytes) -> bytes:
        return v

    async def echo_vec(self, v: list[int]) -> list[int]:
        return v

    async def echo_array(self, v: list[int]) -> list[int]:
        return v

    async def echo_deque(self, v: list[str]) -> list[str]:
        return v

    async def echo_option(self, v: int | None) -> int | None:
        return v

    async def echo_option_option(self, v: Some[int | None] | None) -> Some[int | None] | None:
        return v

    async def echo_hash_map(self, v: dict[str, int]) -> dict[str, int]:
        return v

    async def echo_btree_map(self, v: dict[int, list[str]]) -> dict[int, list[str]]:
        return v

    async def echo_tuple(self, v: tuple[int, str, float]) -> tuple[int, str, float]:
        return v

    async def echo_unit(self, v: None) -> None:
        return v

    async def echo_boxed(self, v: Record_) -> Record_:
        return v

    async def echo_record(self, v: Record_) -> Record_:
        return v

    async def echo_shape(self, v: Shape) -> Shape:
        return v

    async def echo_shapes(self, v: list[Shape | None]) -> list[Shape | None]:
        return v

    async def echo_pair(self, v: Pair) -> Pair:
        return v

    async def echo_marker(self, v: Marker) -> Marker:
        return v

    async def echo_page(self, v: Page[Record_]) -> Page[Record_]:
        return v

    async def echo_page_of_ints(self, v: Page[int]) -> Page[int]:
        return v

    async def echo_keywords(self, v: Keywords) -> Keywords:
        return v

    async def echo_map_of_records(self, v: dict[int, list[Record_]]) -> dict[int, list[Record_]]:
        return v

    async def echo_many(self, a: int, b: str, c: bytes | None) -> tuple[int, str, bytes | None]:
        return (a, b, c)

    async def nothing(self) -> None:
        return None

    async def echo_tree(self, v: Tree) -> Tree:
        return v

    async def count_units(self, v: list[None]) -> int:
        return len(v)

    async def checked(self, v: int, fail: bool) -> int:
        if fail:
            raise EchoError.Refused(reason=f"refused {v}")
        return v


if __name__ == "__main__":
    ev.serve(Echo())
