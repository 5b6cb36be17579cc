"""Jinja2 templates of the LLM ranker, compiled in a sandbox and rendered under a budget.

A template may read the values it is given and nothing else: the sandbox
rejects attribute walking to Python internals (``"".__class__``), and the
environment has no loader, so ``include`` and ``import`` cannot reach files.

A render is bounded in three ways, so that a template saved through the admin
API cannot stall or exhaust the ranker. The rendered text has a maximum length.
All ``for`` loops of one render share a maximum number of iterations. The
operators, methods and filters that multiply a string's length reject results
longer than ``MAX_VALUE_CHARS``.

NOTE: the length checks cover ``*``, ``**``, ``%``, ``str.format``, the widening
str methods and the center, indent, format, replace and slice filters. Another
filter or method that amplifies its input would need its own check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.filters import do_center, do_indent, do_slice
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from recmesh.entities import Feedback, Item, User

# Per-render limits. A MovieLens document renders to about 60 characters and a
# query with 10 liked movies to about 600, so these leave room for rich items.
DOCUMENT_MAX_CHARS = 64 * 1024
QUERY_MAX_CHARS = 256 * 1024
MAX_LOOP_ITERATIONS = 100_000
# Maximum length of a string or list that an operator, method or filter may build inside a render.
MAX_VALUE_CHARS = 1024 * 1024

# The render variable holding the loop guard. A template that names it can only
# wrap an iterable in it, which counts against the same budget.
_LOOP_GUARD = "recmesh_loop_guard"
# Width or precision of 7 digits or more in a %-format or str.format spec, or a width taken from an argument.
_WIDE_FORMAT = re.compile(r"\d{7,}|%[-#0 +]*\*|\{[^{}]*:[^{}]*\{")
_WIDENING_STR_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class TemplateCompileError(ValueError):
    """A template does not compile; the message names the template and the line."""


class TemplateRenderError(ValueError):
    """A template failed to render; the message names the template and, for a document, the item."""

    def __init__(self, template_name: str, item_id: str | None, reason: str) -> None:
        where = f"template {template_name!r}" + (f" for item {item_id!r}" if item_id is not None else "")
        super().__init__(f"{where}: {reason}")
        self.template_name = template_name
        self.item_id = item_id
        self.reason = reason


class RenderBudgetExceeded(SecurityError):
    """A render went over one of its limits."""


class _LoopGuard:
    """Counts the iterations of every loop of one render."""

    def __init__(self, max_iterations: int) -> None:
        self.remaining = max_iterations
        self.max_iterations = max_iterations

    def __call__(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for value in iterable:
            self.remaining -= 1
            if self.remaining < 0:
                raise RenderBudgetExceeded(f"loops ran more than {self.max_iterations} iterations")
            yield value


class _LoopGuardCodeGenerator(CodeGenerator):
    """Routes the iterable of every ``for`` tag through the render's loop guard.

    The rewrite happens on the whole tree before any code is generated, so the
    guard's name is known to Jinja2's symbol analysis like any template variable.
    """

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name(_LOOP_GUARD, "load"), [loop.iter], [], None, None)
        super().visit_Template(node, frame)


def _check_length(length: int, what: str) -> None:
    if length > MAX_VALUE_CHARS:
        raise RenderBudgetExceeded(
            f"{what} would build a value of {length} characters (maximum {MAX_VALUE_CHARS})"
        )


def _check_format(spec: str) -> None:
    if _WIDE_FORMAT.search(spec):
        raise RenderBudgetExceeded("format width or precision is too large")


class BudgetedSandboxEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox plus checks on everything that multiplies a value's length."""

    code_generator_class = _LoopGuardCodeGenerator
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sized, count in ((left, right), (right, left)):
                if isinstance(sized, str | list | tuple) and isinstance(count, int):
                    _check_length(len(sized) * count, "'*'")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            if abs(right) > 1000 and abs(left) > 1:
                raise RenderBudgetExceeded(f"exponent {right} is too large (maximum 1000)")
        elif operator == "%" and isinstance(left, str):
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name in _WIDENING_STR_METHODS and args and isinstance(args[0], int):
                _check_length(args[0] * (8 if name == "expandtabs" else 1), f"str.{name}")
            elif name == "replace" and len(args) >= 2 and isinstance(args[1], str):
                _check_length(len(owner) + owner.count(str(args[0])) * len(args[1]), "str.replace")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        # The sandbox swaps str.format for its own function at attribute access, so the check goes there.
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        spec = value.__self__

        def checked_format(*args: Any, **kwargs: Any) -> str:
            _check_format(spec)
            return wrapped(*args, **kwargs)

        return checked_format


def _guarded_center(value: str, width: int = 80) -> str:
    _check_length(width, "center")
    return do_center(value, width)


def _guarded_indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    indent_chars = width if isinstance(width, int) else len(width)
    _check_length(len(value) + indent_chars * (value.count("\n") + 1), "indent")
    return do_indent(value, width, first, blank)


def _guarded_format(value: str, *args: Any, **kwargs: Any) -> str:
    _check_format(value)
    return jinja2.filters.do_format(value, *args, **kwargs)


def _guarded_slice(value: Iterable[Any], slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _check_length(slices, "slice")
    return do_slice(value, slices, fill_with)


def make_environment() -> BudgetedSandboxEnvironment:
    environment = BudgetedSandboxEnvironment(
        loader=None,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["center"] = _guarded_center
    environment.filters["indent"] = _guarded_indent
    environment.filters["format"] = _guarded_format
    environment.filters["slice"] = _guarded_slice
    replace_filter = environment.filters["replace"]

    @jinja2.pass_eval_context
    def guarded_replace(eval_ctx: Any, value: str, old: str, new: str, count: int | None = None) -> str:
        text = str(value)
        _check_length(len(text) + text.count(str(old)) * len(str(new)), "replace")
        return replace_filter(eval_ctx, value, old, new, count)

    environment.filters["replace"] = guarded_replace
    # lipsum(n) builds n paragraphs with no bound on n.
    environment.globals.pop("lipsum", None)
    return environment


_ENVIRONMENT = make_environment()


def compile_template(source: str, name: str) -> jinja2.Template:
    """Compile source; raise TemplateCompileError naming `name` and the line at fault."""
    try:
        template = _ENVIRONMENT.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateCompileError(f"{name}: line {exc.lineno}: {exc.message}") from exc
    template.name = name
    return template


@dataclass(frozen=True, slots=True)
class RenderLimits:
    max_chars: int
    max_loop_iterations: int = MAX_LOOP_ITERATIONS


QUERY_LIMITS = RenderLimits(QUERY_MAX_CHARS)
DOCUMENT_LIMITS = RenderLimits(DOCUMENT_MAX_CHARS)


def render(
    template: jinja2.Template, variables: Mapping[str, Any], limits: RenderLimits, item_id: str | None = None
) -> str:
    """Render template with variables, stopping once the text or the loops go over limits.

    Raise TemplateRenderError naming the template (and item_id, when given) for any failure.
    """
    name = template.name or "<template>"
    guarded = {**variables, _LOOP_GUARD: _LoopGuard(limits.max_loop_iterations)}
    chunks: list[str] = []
    length = 0
    try:
        for chunk in template.generate(guarded):
            length += len(chunk)
            if length > limits.max_chars:
                raise RenderBudgetExceeded(f"rendered text is longer than {limits.max_chars} characters")
            chunks.append(chunk)
    except RenderBudgetExceeded as exc:
        raise TemplateRenderError(name, item_id, f"render budget exceeded: {exc}") from exc
    except SecurityError as exc:
        raise TemplateRenderError(name, item_id, f"rejected by the sandbox: {exc}") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateRenderError(name, item_id, f"undefined value: {exc.message}") from exc
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateRenderError(name, item_id, f"{type(exc).__name__}: {exc}") from exc
    except RecursionError as exc:
        raise TemplateRenderError(name, item_id, "recursion too deep") from exc
    return "".join(chunks)


def item_variables(item: Item) -> dict[str, Any]:
    """Return the fields a template receives for an item, as plain values."""
    return {
        "id": item.id,
        "comment": item.comment,
        "categories": list(item.categories),
        "labels": dict(item.labels),
        "timestamp": item.timestamp,
    }


def user_variables(user: User) -> dict[str, Any]:
    return {"id": user.id, "comment": user.comment, "labels": dict(user.labels)}


@dataclass(frozen=True, slots=True)
class FeedbackWithItem:
    feedback: Feedback
    item: Item


def feedback_variables(entry: FeedbackWithItem) -> dict[str, Any]:
    """Return one feedback as a template receives it: type, timestamp, value and the item's fields under `item`."""
    return {
        "type": entry.feedback.type,
        "timestamp": entry.feedback.timestamp,
        "value": entry.feedback.value,
        "item_id": entry.item.id,
        "item": item_variables(entry.item),
    }


def render_query(template: jinja2.Template, user: User, feedback: Sequence[FeedbackWithItem]) -> str:
    """Render the rerank query from the user and their newest positive feedback, newest first."""
    variables = {"user": user_variables(user), "feedback": [feedback_variables(entry) for entry in feedback]}
    return render(template, variables, QUERY_LIMITS)


def render_document(template: jinja2.Template, item: Item) -> str:
    """Render one candidate's document; a failure names the template and the item."""
    return render(template, {"item": item_variables(item)}, DOCUMENT_LIMITS, item_id=item.id)
