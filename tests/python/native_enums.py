"""The stubs read as Python: an enum is a base class with one subclass per
variant (`isinstance`, `match`), named fields are keyword arguments, tuple
fields are `value` / `item0`, `item1`, ..., and a domain error class is an
exception. Type-checked by tests/python_mypy.rs (`mypy --strict`: the
`assert_type` lines are the narrowing it must do) and run by
tests/python_testing.rs, with the stubs of tests/contracts/everything.rs and
examples/calculator/contract.rs importable as `goproc_stubs`.
"""

from __future__ import annotations

from typing import assert_type

from goproc_stubs import goproc_runtime as rt
from goproc_stubs.calculator import MathError
from goproc_stubs.everything import EchoError, Keywords, Pair, Record_, Shape, Tree
from goproc_stubs.goproc_runtime import f32, u8, u32


def area(shape: Shape) -> f32:
    match shape:
        case Shape.Empty():
            return 0.0
        case Shape.Circle(radius):
            assert_type(radius, f32)
            return 3.0 * radius * radius
        case Shape.Rect(width=w, height=h):
            assert_type(w, u32)
            return float(w * h)
        case Shape.Polygon(points):
            assert_type(points, list[tuple[int, int]])
            return float(len(points))
        case Shape.Labeled(inner, label):
            assert_type(label, str)
            return area(inner)
    raise AssertionError(f"not a Shape variant: {shape!r}")


def leaves(tree: Tree) -> list[u8]:
    if isinstance(tree, Tree.Leaf):
        assert_type(tree, Tree.Leaf)
        return [tree.value]
    assert isinstance(tree, Tree.Node)
    return [leaf for child in tree.value for leaf in leaves(child)]


def describe(error: MathError) -> str:
    match error:
        case MathError.DivisionByZero():
            return "division by zero"
        case MathError.Overflow(operation=operation):
            assert_type(operation, str)
            return f"overflow in {operation}"
    return "?"


def main() -> None:
    shapes: list[Shape] = [
        Shape.Empty(),
        Shape.Circle(1.0),
        Shape.Rect(width=2, height=3),
        Shape.Polygon([(0, 0), (1, 1)]),
        Shape.Labeled(Shape.Rect(width=1, height=5), "tall"),
    ]
    assert [area(s) for s in shapes] == [0.0, 3.0, 6.0, 2.0, 5.0]
    assert all(isinstance(s, Shape) for s in shapes)
    assert not isinstance(Shape.Circle(1.0), Shape.Rect)
    # The variant classes are the module's `ShapeCircle` ..., named as nested.
    assert repr(Shape.Circle(1.0)) == "Shape.Circle(value=1.0)"
    assert Shape.Labeled(Shape.Empty(), "x").item1 == "x"
    assert Pair(-1, 2).item0 == -1 and Pair(-1, 2).item1 == 2
    assert leaves(Tree.Node([Tree.Leaf(1), Tree.Node([Tree.Leaf(2)])])) == [1, 2]

    # Named fields are keyword-only.
    record = Record_(id=1, name="n", score=0.5, flags=[], nickname=None, shape=Shape.Empty(), blob=b"")
    assert record.name == "n"
    try:
        Record_(1, "n", 0.5, [], None, Shape.Empty(), b"")  # type: ignore[misc]
    except TypeError:
        pass
    else:
        raise AssertionError("Record_ took positional arguments")
    assert Keywords(from_=1, class_=-1, delete=True, type_="t").from_ == 1

    # Domain error classes are exceptions, raised as the value.
    assert issubclass(MathError, rt.DomainError) and issubclass(EchoError, rt.DomainError)
    try:
        raise MathError.Overflow(operation="MIN / -1")
    except MathError as e:
        assert describe(e) == "overflow in MIN / -1"
        assert str(e) == "MathError.Overflow(operation='MIN / -1')"
    print("native enums ok")


if __name__ == "__main__":
    main()
