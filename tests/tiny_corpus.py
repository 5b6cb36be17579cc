"""A hand-made corpus whose neighbours are obvious, shared by the training and recommender tests.

Items a1..a3 are action films, d1..d3 dramas. u1 likes every action film, u2 likes a1 and a2, u3 every
drama, u4 d1 and d2, u5 only a3. So a1 and a2 are each other's closest item (same two fans), a3 follows,
and u2's closest user is u1, whose remaining film is a3. u2 read d1 without liking it.
"""

from __future__ import annotations

from recmesh.entities import Feedback, Item, User
from recmesh.training.dataset import Corpus
from recmesh.training.fm_trainer import FMParams
from recmesh.training.mf_trainer import MFParams
from recmesh.training.trainer import TrainingOptions

ITEMS = [
    Item(id="a1", categories=("action",), timestamp=1),
    Item(id="a2", categories=("action",), timestamp=2),
    Item(id="a3", categories=("action",), timestamp=3),
    Item(id="d1", categories=("drama",), timestamp=4),
    Item(id="d2", categories=("drama",), timestamp=5),
    Item(id="d3", categories=("drama",), timestamp=6),
]
USERS = [
    User(id="u1", labels={"city": "oslo"}),
    User(id="u2", labels={"city": "oslo"}),
    User(id="u3", labels={"city": "rome"}),
    User(id="u4", labels={"city": "rome"}),
    User(id="u5", labels={"city": "lima"}),
]
LIKES = {
    "u1": ["a1", "a2", "a3"],
    "u2": ["a1", "a2"],
    "u3": ["d1", "d2", "d3"],
    "u4": ["d1", "d2"],
    "u5": ["a3"],
}


def feedback() -> list[Feedback]:
    rows = []
    for user_id, item_ids in LIKES.items():
        for position, item_id in enumerate(item_ids):
            rows.append(Feedback(type="like", user_id=user_id, item_id=item_id, timestamp=100 + position))
    rows.append(Feedback(type="read", user_id="u2", item_id="d1", timestamp=50))
    return sorted(rows, key=lambda f: (f.timestamp, f.user_id, f.item_id))


def corpus() -> Corpus:
    return Corpus(users=list(USERS), items=list(ITEMS), feedback=feedback())


def fast_options(evaluate: bool = False) -> TrainingOptions:
    """Return options that train the tiny corpus in well under a second, on one thread so runs repeat."""
    return TrainingOptions(
        mf=MFParams(components=4, epochs=40, learning_rate=0.1, threads=1),
        fm=FMParams(components=4, epochs=30, learning_rate=0.1, threads=1),
        neighbors=3,
        evaluate=evaluate,
    )
