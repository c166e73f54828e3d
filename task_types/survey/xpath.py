"""The subset of XPath 1.0 that XLSForm relevance, constraints, calculations and choice filters use.

pyxform passes these expressions through untouched (``${name}`` references, ``.`` for the current
answer, bare names for a choice's own columns in a choice filter); ODK Collect evaluates them with
JavaRosa. The server evaluates the same expressions here so a phone cannot skip a rule by sending a
crafted answer; ``survey.js`` holds the page's copy of this evaluator (same grammar, same functions).

Grammar (lowest precedence first): ``or``, ``and``, ``= !=``, ``< <= > >=``, ``+ -``, ``* div mod``,
unary ``-``, then a primary: a number, a quoted string, ``${name}``, ``.``, a bare name, a function
call or a parenthesised expression. Values follow XPath: a comparison with a number compares numbers,
otherwise strings; an empty answer is the empty string; a select_multiple answer is its choices joined
by spaces (what ``selected()`` and ``count-selected()`` read).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

TOKEN_RE = re.compile(r"""
    \s*(?:
      (?P<ref>\$\{[A-Za-z_][A-Za-z0-9_.\-]*\})
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,|\.)
    | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?::[A-Za-z_][A-Za-z0-9_\-]*)?)
    )""", re.VERBOSE)


class XPathError(ValueError):
    """An expression outside the supported subset (or malformed); the message says where."""


@dataclass(frozen=True)
class Node:
    kind: str  # num, str, ref, cur, name, call, op, neg
    value: object = None
    args: tuple = ()


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise XPathError(f"Unexpected character {text[pos]!r} at position {pos + 1} in {text!r}.")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    LEVELS = (("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "div", "mod"))

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, value):
        kind, got = self.take()
        if got != value:
            raise XPathError(f"Expected {value!r} but found {got!r} in {self.text!r}.")

    def parse(self) -> Node:
        node = self.binary(0)
        if self.i != len(self.tokens):
            raise XPathError(f"Unexpected {self.peek()[1]!r} in {self.text!r}.")
        return node

    def binary(self, level: int) -> Node:
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while True:
            kind, value = self.peek()
            if value in self.LEVELS[level] and (kind == "op" or kind == "name"):
                self.take()
                right = self.binary(level + 1)
                left = Node("op", value, (left, right))
            else:
                return left

    def unary(self) -> Node:
        if self.peek() == ("op", "-"):
            self.take()
            return Node("neg", None, (self.unary(),))
        return self.primary()

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "number":
            return Node("num", float(value))
        if kind == "string":
            return Node("str", value[1:-1])
        if kind == "ref":
            return Node("ref", value[2:-1])
        if kind == "op" and value == ".":
            return Node("cur")
        if kind == "op" and value == "(":
            node = self.binary(0)
            self.expect(")")
            return node
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take()
                args = []
                if self.peek() != ("op", ")"):
                    args.append(self.binary(0))
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.binary(0))
                self.expect(")")
                if value not in FUNCTIONS:
                    raise XPathError(f"Unsupported function {value}() in {self.text!r}.")
                return Node("call", value, tuple(args))
            return Node("name", value)
        raise XPathError(f"Unexpected {value!r} in {self.text!r}." if value else f"Incomplete expression {self.text!r}.")


_CACHE: dict[str, Node] = {}


def parse(text: str) -> Node:
    node = _CACHE.get(text)
    if node is None:
        node = _CACHE[text] = _Parser(text).parse()
    return node


def references(text: str) -> set[str]:
    """The ``${name}`` references of an expression (for the dependency graph and unknown names)."""
    found: set[str] = set()

    def walk(node: Node):
        if node.kind == "ref":
            found.add(str(node.value))
        for arg in node.args:
            walk(arg)

    walk(parse(text))
    return found


# --- values -------------------------------------------------------------------------------------------


def to_string(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (list, tuple)):
        return " ".join(to_string(v) for v in value)
    if isinstance(value, dict):  # a geopoint
        return " ".join(to_string(value.get(k)) for k in ("lat", "lon", "alt", "accuracy") if k in value)
    return str(value)


def to_number(value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    text = to_string(value).strip()
    try:
        return float(text)
    except ValueError:
        try:  # dates compare as days since the epoch, as in JavaRosa
            return float((date.fromisoformat(text[:10]) - date(1970, 1, 1)).days)
        except ValueError:
            return math.nan


def to_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    return to_string(value) != ""


def _compare(op: str, a, b) -> bool:
    if op in ("=", "!="):
        if isinstance(a, bool) or isinstance(b, bool):
            equal = to_bool(a) == to_bool(b)
        elif isinstance(a, (int, float)) or isinstance(b, (int, float)):
            equal = to_number(a) == to_number(b)
        else:
            equal = to_string(a) == to_string(b)
        return equal if op == "=" else not equal
    x, y = to_number(a), to_number(b)
    if math.isnan(x) or math.isnan(y):
        return False
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _regex(value, pattern) -> bool:
    try:
        return re.search(to_string(pattern), to_string(value)) is not None
    except re.error as exc:
        raise XPathError(f"Invalid regular expression {to_string(pattern)!r}: {exc}.") from exc


def _if(c, a, b):
    return a if to_bool(c) else b


def _round(x, digits=0.0):
    n, d = to_number(x), int(to_number(digits))
    if not math.isfinite(n):
        return n
    factor = 10 ** d
    return math.floor(n * factor + 0.5) / factor  # half up, as JavaRosa


FUNCTIONS: dict[str, Callable] = {
    "selected": lambda values, choice: to_string(choice).strip() in to_string(values).split(),
    "count-selected": lambda values: float(len(to_string(values).split())),
    "not": lambda x: not to_bool(x),
    "true": lambda: True,
    "false": lambda: False,
    "string-length": lambda x: float(len(to_string(x))),
    "string": to_string,
    "number": to_number,
    "int": lambda x: float(math.trunc(to_number(x))) if not math.isnan(to_number(x)) else math.nan,
    "boolean": to_bool,
    "round": _round,
    "concat": lambda *xs: "".join(to_string(x) for x in xs),
    "contains": lambda a, b: to_string(b) in to_string(a),
    "starts-with": lambda a, b: to_string(a).startswith(to_string(b)),
    "ends-with": lambda a, b: to_string(a).endswith(to_string(b)),
    "regex": _regex,
    "if": _if,
    "coalesce": lambda a, b: a if to_string(a) != "" else b,
    "today": lambda: date.today().isoformat(),
    "now": lambda: datetime.now().isoformat(timespec="seconds"),
    "abs": lambda x: abs(to_number(x)),
    "min": lambda *xs: min(to_number(x) for x in xs),
    "max": lambda *xs: max(to_number(x) for x in xs),
    "pow": lambda a, b: to_number(a) ** to_number(b),
    "selected-at": lambda values, i: (to_string(values).split() + [""] * (int(to_number(i)) + 1))[int(to_number(i))],
    "substr": lambda s, a, b=None: to_string(s)[int(to_number(a)):(int(to_number(b)) if b is not None else None)],
    "translate": lambda s, a, b: to_string(s).translate({ord(c): (to_string(b)[i] if i < len(to_string(b)) else None)
                                                        for i, c in enumerate(to_string(a))}),
    "jr:choice-name": lambda value, _ref: to_string(value),
}


def evaluate(text: str, *, lookup: Callable[[str], object], current=None,
             names: Callable[[str], object] | None = None):
    """The value of an expression: ``lookup(name)`` resolves ``${name}``, ``current`` is ``.``,
    ``names(col)`` resolves a bare name (a choice column in a choice filter)."""

    def ev(node: Node):
        kind = node.kind
        if kind == "num":
            return node.value
        if kind == "str":
            return node.value
        if kind == "ref":
            return lookup(str(node.value))
        if kind == "cur":
            return current
        if kind == "name":
            if names is None:
                raise XPathError(f"Unknown name {node.value!r}: refer to a question as ${{{node.value}}}.")
            return names(str(node.value))
        if kind == "neg":
            return -to_number(ev(node.args[0]))
        if kind == "call" and node.value == "if" and len(node.args) == 3:  # lazy, as JavaRosa
            return ev(node.args[1]) if to_bool(ev(node.args[0])) else ev(node.args[2])
        if kind == "call":
            args = [ev(a) for a in node.args]
            try:
                return FUNCTIONS[str(node.value)](*args)
            except TypeError as exc:
                raise XPathError(f"Wrong number of arguments for {node.value}().") from exc
        op = node.value
        if op == "or":
            return to_bool(ev(node.args[0])) or to_bool(ev(node.args[1]))
        if op == "and":
            return to_bool(ev(node.args[0])) and to_bool(ev(node.args[1]))
        a, b = ev(node.args[0]), ev(node.args[1])
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return _compare(op, a, b)
        x, y = to_number(a), to_number(b)
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "div":
            return x / y if y else (math.nan if x == 0 else math.copysign(math.inf, x))
        if op == "mod":
            return math.fmod(x, y) if y else math.nan
        raise XPathError(f"Unsupported operator {op!r}.")

    return ev(parse(text))
