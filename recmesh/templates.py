"""Jinja2 templates of the LLM ranker, compiled in a sandbox.

A template may read the values it is given and nothing else: the sandbox
rejects attribute walking to Python internals (``"".__class__``), and the
environment has no loader, so ``include`` and ``import`` cannot reach files.
"""

from __future__ import annotations

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment


class TemplateCompileError(ValueError):
    """A template does not compile; the message names the template and the line."""


def make_environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        loader=None,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_ENVIRONMENT = make_environment()


def compile_template(source: str, name: str) -> jinja2.Template:
    """Compile source; raise TemplateCompileError naming `name` and the line at fault."""
    try:
        return _ENVIRONMENT.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateCompileError(f"{name}: line {exc.lineno}: {exc.message}") from exc
