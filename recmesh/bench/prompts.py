"""The rerank request of one evaluated user, rendered exactly as the ranker service renders it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jinja2

from recmesh.bench.evaluation_users import EvaluationUser
from recmesh.entities import Item, User
from recmesh.templates import compile_template
from recmesh.user_context import FeedbackTypes, build_user_context
from services.ranker.llm_scorer import (
    DOCUMENT_TEMPLATE_NAME,
    QUERY_TEMPLATE_NAME,
    PromptInputs,
    render_prompt,
)


@dataclass(frozen=True)
class PromptRenderer:
    """Compiled templates plus the store's users and items they read."""

    query_template: jinja2.Template
    document_template: jinja2.Template
    types: FeedbackTypes
    # Newest positive training feedbacks the query receives.
    context_size: int
    items: Mapping[str, Item]
    users: Mapping[str, User]
    # The time the positive-feedback TTL counts back from: the end of the training period.
    now: float

    @classmethod
    def compile(
        cls,
        query_template: str,
        document_template: str,
        types: FeedbackTypes,
        context_size: int,
        items: Mapping[str, Item],
        users: Mapping[str, User],
        now: float,
    ) -> PromptRenderer:
        """Compile both templates; raise TemplateCompileError naming the one that does not compile."""
        return cls(
            query_template=compile_template(query_template, QUERY_TEMPLATE_NAME),
            document_template=compile_template(document_template, DOCUMENT_TEMPLATE_NAME),
            types=types,
            context_size=context_size,
            items=items,
            users=users,
            now=now,
        )

    def render(self, user: EvaluationUser) -> tuple[str, list[str]]:
        """Return the query and the documents, in the order of user.item_ids.

        The query comes from the user's newest positive training feedback, never from test feedback.
        Raise TemplateRenderError naming the template and item at fault.
        """
        context = build_user_context(user.user_id, user.train_feedback, self.types, now=self.now)
        inputs = PromptInputs(
            items=self.items,
            user=self.users.get(user.user_id),
            positive_types=self.types.positive,
            context_size=self.context_size,
        )
        query, documents = render_prompt(
            self.query_template, self.document_template, context, user.item_ids, inputs
        )
        return query, [text for _, text in documents]
