from __future__ import annotations

import pytest

from recmesh.entities import Feedback, Item, User
from recmesh.templates import (
    DOCUMENT_MAX_CHARS,
    FeedbackWithItem,
    TemplateCompileError,
    TemplateRenderError,
    compile_template,
    render_document,
    render_query,
)

TOY_STORY = Item("1", ("Animation", "Comedy"), 788_000_000, {"year": "1995"}, "Toy Story (1995)")
HEAT = Item("6", ("Action", "Crime"), 788_000_001, {}, "Heat (1995)")


def liked(item: Item, timestamp: int) -> FeedbackWithItem:
    return FeedbackWithItem(Feedback("like", "196", item.id, timestamp), item)


def test_query_lists_feedback_items_in_given_order() -> None:
    template = compile_template(
        "{{ user.id }}:{% for f in feedback %} {{ f.item.comment }}/{{ f.type }}/{{ f.timestamp }}{% endfor %}",
        "query_template",
    )

    query = render_query(template, User("196"), [liked(HEAT, 20), liked(TOY_STORY, 10)])

    assert query == "196: Heat (1995)/like/20 Toy Story (1995)/like/10"


def test_document_sees_every_item_field() -> None:
    template = compile_template(
        "{{ item.id }}|{{ item.comment }}|{{ item.categories | join(',') }}|{{ item.labels.year }}|{{ item.timestamp }}",
        "document_template",
    )

    assert render_document(template, TOY_STORY) == "1|Toy Story (1995)|Animation,Comedy|1995|788000000"


def test_compile_error_names_template_and_line() -> None:
    with pytest.raises(TemplateCompileError, match=r"document_template: line 2"):
        compile_template("ok\n{% for x in %}", "document_template")


def test_render_error_names_template_and_item() -> None:
    template = compile_template("{{ item.labels.director }}", "document_template")

    with pytest.raises(TemplateRenderError) as caught:
        render_document(template, HEAT)

    assert caught.value.template_name == "document_template"
    assert caught.value.item_id == "6"
    assert "'document_template' for item '6'" in str(caught.value)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ item.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ item.comment.__class__.__base__.__subclasses__() }}",
        "{{ item['__class__'] }}",
        "{{ item.categories.append('x') }}",
    ],
)
def test_sandbox_rejects_python_internals(source: str) -> None:
    template = compile_template(source, "document_template")

    with pytest.raises(TemplateRenderError, match=r"sandbox|undefined"):
        render_document(template, HEAT)


def test_file_access_is_rejected() -> None:
    template = compile_template("{% include '/etc/passwd' %}", "document_template")

    with pytest.raises(TemplateRenderError):
        render_document(template, HEAT)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% for i in range(70000) %}x{% endfor %}", "longer than"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "loops ran"),
        (
            "{% macro m() %}{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}"
            "{% endfor %}{% endmacro %}{{ m() }}",
            "loops ran",
        ),
        ("{{ 'x' * 100000000 }}", "would build"),
        ("{{ 10 ** 1000000 }}", "exponent"),
        ("{{ '%099999999d' % 1 }}", "format width"),
        ("{{ '{:>99999999}'.format(1) }}", "format width"),
        ("{{ 'x'.ljust(100000000) }}", "would build"),
        ("{{ 'x' | center(100000000) }}", "would build"),
        ("{{ ('x' * 1000) | replace('x', 'y' * 10000) }}", "would build"),
    ],
)
def test_render_budget_stops_runaway_template(source: str, message: str) -> None:
    template = compile_template(source, "document_template")

    with pytest.raises(TemplateRenderError, match=message) as caught:
        render_document(template, HEAT)

    assert "document_template" in str(caught.value)


def test_document_just_under_budget_renders() -> None:
    template = compile_template("{{ 'x' * size }}", "document_template")

    text = template.render(size=DOCUMENT_MAX_CHARS)

    assert len(text) == DOCUMENT_MAX_CHARS
    assert len(render_document(compile_template("{{ 'x' * 65536 }}", "d"), HEAT)) == DOCUMENT_MAX_CHARS


def test_format_width_from_argument_is_rejected() -> None:
    template = compile_template("{{ '{:>{}}'.format(1, 100000000) }}", "document_template")

    with pytest.raises(TemplateRenderError, match="format width"):
        render_document(template, HEAT)


def test_ordinary_format_still_works() -> None:
    template = compile_template("{{ '{} ({:>4})'.format(item.comment, 7) }} {{ '%s!' % item.id }}", "d")

    assert render_document(template, HEAT) == "Heat (1995) (   7) 6!"
