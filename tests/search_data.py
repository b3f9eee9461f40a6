"""A small project to search and filter, shared by the API, page and browser tests of search (annotate/search.py).

- ``code``: instruction, a Python code block, metadata lang=en, source=docs; labelled by three annotators who
  split on topic (code, math, general), then resolved;
- ``weather``: chat with a get_weather tool call and its result, lang=de; labelled by three who agree (math);
- ``fox``: text "The quick brown fox …", lang=en; labelled by three, two against one (code, code, math);
- ``refusal``: instruction holding the phrase "as an AI language model", lang=fr; unlabelled;
- ``pair``: preference, lang=en, source=forum; one label so far (in progress).
"""

from __future__ import annotations

import pytest

from annotate.models import WorkItem
from annotate.services.queue import work_items_create
from annotate.services.reviews import resolution_set
from tests.factories import ExampleFactory

CODE = {
    "prompt": "How do I reverse a list in Python?",
    "response": "Use slicing:\n\n```python\ndef reverse(items):\n    return items[::-1]\n```\n",
}
WEATHER = {
    "messages": [
        {"role": "user", "content": "What is the weather in Oslo?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo", "unit": "celsius"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"temperature": 4}'},
        {"role": "assistant", "content": "It is 4 degrees and raining in Oslo."},
    ]
}
FOX = {"text": "The quick brown fox jumps over the lazy dog. Straße café."}
REFUSAL = {"prompt": "Write a poem about war.", "response": "As an AI language model, I cannot write that poem."}
PAIR = {"prompt": "Say hello", "chosen": "Hello there, friend!", "rejected": "Go away."}


@pytest.fixture
def searchable(project, cast):
    """The examples by name, labelled as the module says (quality is answered 3 by everyone)."""
    from tests.pages.test_reviewing import answers, label_all

    code_metadata = {"lang": "en", "source": "docs"}
    made = {
        "code": ExampleFactory(project=project, external_id="code", content=CODE, metadata=code_metadata),
        "weather": ExampleFactory(project=project, external_id="weather", content=WEATHER, metadata={"lang": "de"}),
        "fox": ExampleFactory(project=project, external_id="fox", content=FOX, metadata={"lang": "en"}),
    }
    label_all(
        project,
        {
            made["code"]: answers("code", "math", "general"),
            made["weather"]: answers("math", "math", "math"),
            made["fox"]: answers("code", "code", "math"),
        },
    )
    resolution_set(
        project=project, example_id=made["code"].pk, question_name="topic", value="code", reviewer=cast["reviewer"]
    )
    made["refusal"] = ExampleFactory(project=project, external_id="refusal", content=REFUSAL, metadata={"lang": "fr"})
    made["pair"] = ExampleFactory(
        project=project, external_id="pair", content=PAIR, metadata={"lang": "en", "source": "forum"}
    )
    work_items_create(project=project)
    # One label on "pair" so far: its queue row says so (the status filter reads it, not the annotations).
    WorkItem.objects.filter(pk=made["pair"].pk).update(live=1, done=1)
    return made
