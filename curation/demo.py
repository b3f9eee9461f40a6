"""Demo data: a few hundred finetuning examples built from rule-based templates, for trying Winnow out.

Three shapes in about equal numbers: instruction (prompt/response, some with a system prompt), chat (multi-turn,
a few with a tool call) and candidates (a prompt with 2–3 responses of visibly different quality). Topics match
the demo project's ``topic`` question: code, math, writing, knowledge, safety.

Flaws a reviewer should catch are planted on purpose: wrong arithmetic, an overly verbose answer, a refusal of a
harmless request, and a handful of exact and near duplicates (for the dedup steps). Nothing in a record says
which ones are flawed; the generator is deterministic for a seed.

Pure Python, no Django: ``demo_records()`` returns plain dicts in the import format (API.md).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TOPICS = ("code", "math", "writing", "knowledge", "safety")
PER_SHAPE = 120
GENERATOR = "winnow-demo-templates"


@dataclass
class Item:
    """One question with a good answer and worse ones to plant as flaws or offer as weaker candidates."""

    topic: str
    prompt: str
    answer: str
    terse: str
    wrong: str | None = None
    followup: tuple[str, str] | None = None
    harmless: bool = True  # a refusal of this prompt is a flaw


# --- code -------------------------------------------------------------------------------------------------------

CODE_TASKS = [
    # (task, name, code, explanation, buggy code, complexity)
    (
        "reverses a string",
        "reverse_string",
        "def reverse_string(s: str) -> str:\n    return s[::-1]",
        "A slice with a step of -1 walks the string from the end to the start.",
        "def reverse_string(s: str) -> str:\n    return s[::1]",
        "O(n) time and O(n) extra space for the new string",
    ),
    (
        "checks whether a string is a palindrome, ignoring case and punctuation",
        "is_palindrome",
        "def is_palindrome(s: str) -> bool:\n    cleaned = [c.lower() for c in s if c.isalnum()]\n"
        "    return cleaned == cleaned[::-1]",
        "It keeps only letters and digits, lower-cases them, and compares the result with its reverse.",
        "def is_palindrome(s: str) -> bool:\n    return s == s[::-1]",
        "O(n) time and O(n) space",
    ),
    (
        "returns the n-th Fibonacci number",
        "fibonacci",
        "def fibonacci(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
        "It keeps only the last two numbers, so it needs no recursion and no list.",
        "def fibonacci(n: int) -> int:\n    return fibonacci(n - 1) + fibonacci(n - 2)",
        "O(n) time and O(1) space",
    ),
    (
        "counts how often each word appears in a text",
        "word_counts",
        "from collections import Counter\n\n\ndef word_counts(text: str) -> Counter[str]:\n"
        "    return Counter(text.lower().split())",
        "Counter does the counting; lower-casing first makes 'The' and 'the' the same word.",
        "def word_counts(text: str) -> dict[str, int]:\n    return {w: 1 for w in text.split()}",
        "O(n) time in the length of the text",
    ),
    (
        "removes duplicates from a list while keeping the original order",
        "dedupe",
        "def dedupe(items: list) -> list:\n    return list(dict.fromkeys(items))",
        "Dictionaries keep insertion order, so dict.fromkeys drops repeats and keeps the first occurrence.",
        "def dedupe(items: list) -> list:\n    return list(set(items))",
        "O(n) time, assuming the items are hashable",
    ),
    (
        "flattens a list of lists into one list",
        "flatten",
        "def flatten(nested: list[list]) -> list:\n    return [item for inner in nested for item in inner]",
        "The nested comprehension reads like two for-loops: for each inner list, for each item in it.",
        "def flatten(nested: list[list]) -> list:\n    return [inner for inner in nested]",
        "O(n) time in the total number of items",
    ),
    (
        "checks whether a number is prime",
        "is_prime",
        "def is_prime(n: int) -> bool:\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n"
        "        if n % i == 0:\n            return False\n        i += 1\n    return True",
        "A composite number has a divisor no larger than its square root, so the loop can stop there.",
        "def is_prime(n: int) -> bool:\n    return n % 2 == 1",
        "O(√n) time",
    ),
    (
        "merges two sorted lists into one sorted list",
        "merge_sorted",
        "def merge_sorted(a: list[int], b: list[int]) -> list[int]:\n    out, i, j = [], 0, 0\n"
        "    while i < len(a) and j < len(b):\n        if a[i] <= b[j]:\n            out.append(a[i])\n"
        "            i += 1\n        else:\n            out.append(b[j])\n            j += 1\n"
        "    return out + a[i:] + b[j:]",
        "Two pointers walk both lists and always take the smaller head; the leftovers are already sorted.",
        "def merge_sorted(a: list[int], b: list[int]) -> list[int]:\n    return a + b",
        "O(len(a) + len(b)) time",
    ),
    (
        "returns the most common element of a list",
        "most_common",
        "from collections import Counter\n\n\ndef most_common(items: list):\n"
        "    return Counter(items).most_common(1)[0][0]",
        "Counter.most_common(1) returns a list with the single (item, count) pair that occurs most often.",
        "def most_common(items: list):\n    return max(items)",
        "O(n) time",
    ),
    (
        "converts a temperature from Celsius to Fahrenheit",
        "celsius_to_fahrenheit",
        "def celsius_to_fahrenheit(celsius: float) -> float:\n    return celsius * 9 / 5 + 32",
        "Multiply by 9/5 and add 32; 100 °C gives 212 °F as a quick check.",
        "def celsius_to_fahrenheit(celsius: float) -> float:\n    return (celsius + 32) * 9 / 5",
        "O(1)",
    ),
]
CODE_PROMPTS = [
    "Write a Python function that {task}.",
    "Can you give me a Python function `{name}` that {task}?",
    "I need a small helper that {task}. Python please, with a short explanation.",
    "How would you write a function in Python that {task}?",
]


def _code(rng: random.Random) -> Item:
    task, name, code, why, buggy, complexity = rng.choice(CODE_TASKS)
    prompt = rng.choice(CODE_PROMPTS).format(task=task, name=name)
    return Item(
        topic="code",
        prompt=prompt,
        answer=f"Here is one way to do it:\n\n```python\n{code}\n```\n\n{why}",
        terse=f"Just write a function called `{name}`, it's a few lines.",
        wrong=f"```python\n{buggy}\n```\n\nThis does it.",
        followup=("What is its time complexity?", f"It runs in {complexity}."),
    )


# --- math -------------------------------------------------------------------------------------------------------


def _off_by(rng: random.Random, value: int) -> int:
    return value + rng.choice([-10, -2, -1, 1, 2, 10, 100])


def _math(rng: random.Random) -> Item:
    kind = rng.choice(["multiply", "percent", "linear", "speed", "series", "rectangle"])
    if kind == "multiply":
        a, b = rng.randint(12, 99), rng.randint(13, 99)
        tens, ones = b // 10 * 10, b % 10
        bad = _off_by(rng, a * b)
        steps = f"{a} × {b} = {a} × {tens} + {a} × {ones} = {a * tens} + {a * ones}"
        return Item(
            "math",
            rng.choice([f"What is {a} × {b}?", f"Calculate {a} times {b}.", f"What's {a}*{b}?"]),
            f"{steps} = {a * b}.\n\nSo {a} × {b} = **{a * b}**.",
            f"{a * b}",
            f"{steps} = {bad}.\n\nSo {a} × {b} = **{bad}**.",
            ("Can you double-check it?", f"Sure: {a * b} ÷ {b} = {a}, so {a * b} is right."),
        )
    if kind == "percent":
        p, n = rng.choice([5, 10, 15, 20, 25, 30, 40, 75]), rng.randrange(40, 2000, 20)
        value: float = p * n // 100 if p * n % 100 == 0 else p * n / 100
        tenfold = p * n / 10  # the answer of someone who read the percentage as a tenth
        return Item(
            "math",
            f"What is {p}% of {n}?",
            f"{p}% means {p}/100, so {p}% of {n} = {n} × {p / 100:g} = {value:g}.",
            f"{value:g}",
            f"{p}% of {n} = {n} × {p / 10:g} = {tenfold:g}.",
            ("And what is left after taking that away?", f"{n} − {value:g} = {n - value:g}."),
        )
    if kind == "linear":
        a, x, b = rng.randint(2, 9), rng.randint(-6, 12), rng.choice([n for n in range(-20, 21) if n])
        c = a * x + b
        sign = "+" if b > 0 else "−"
        return Item(
            "math",
            f"Solve for x: {a}x {sign} {abs(b)} = {c}",
            f"Subtract {b} from both sides: {a}x = {c - b}.\nDivide both sides by {a}: x = {x}.\n\n"
            f"Check: {a} × {x} {sign} {abs(b)} = {c}. ✓",
            f"x = {x}",
            f"Move {b} to the right: {a}x = {c + b}, so x = {(c + b) / a:g}.",
            ("Why do we subtract first?", "To get the x term alone on one side before dividing by its coefficient."),
        )
    if kind == "speed":
        speed, hours = rng.randrange(40, 130, 5), rng.randint(2, 6)
        distance = speed * hours
        return Item(
            "math",
            f"A train covers {distance} km in {hours} hours at a constant speed. What is its speed?",
            f"Speed = distance ÷ time = {distance} km ÷ {hours} h = {speed} km/h.",
            f"{speed} km/h",
            f"Speed = distance × time = {distance} × {hours} = {distance * hours} km/h.",
            ("How far would it go in 30 minutes?", f"Half an hour at {speed} km/h is {speed / 2:g} km."),
        )
    if kind == "series":
        n = rng.choice([10, 20, 50, 100, 200, 1000])
        total = n * (n + 1) // 2
        return Item(
            "math",
            f"What is the sum of the whole numbers from 1 to {n}?",
            f"Use Gauss's formula n(n + 1) / 2: {n} × {n + 1} / 2 = {total}.",
            f"{total}",
            f"Use n(n + 1) / 2: {n} × {n + 1} / 2 = {_off_by(rng, total)}.",
            ("Why does that formula work?", f"Pair 1 with {n}, 2 with {n - 1}, …: every pair sums to {n + 1}."),
        )
    w, h = rng.randint(3, 40), rng.randint(3, 40)
    return Item(
        "math",
        f"A rectangle is {w} cm wide and {h} cm tall. What are its area and perimeter?",
        f"Area = {w} × {h} = {w * h} cm².\nPerimeter = 2 × ({w} + {h}) = {2 * (w + h)} cm.",
        f"{w * h} cm² and {2 * (w + h)} cm.",
        f"Area = {w} × {h} = {w * h} cm².\nPerimeter = {w} + {h} = {w + h} cm.",
        ("And if both sides doubled?", f"The area would be four times as large: {4 * w * h} cm²."),
    )


# --- writing ----------------------------------------------------------------------------------------------------

HAIKUS = {
    "autumn": "Red leaves drift and fall\nthe maple lets go of summer\none branch at a time",
    "the ocean": "Grey waves fold and break\nsalt wind carries gulls inland\nthe tide keeps its time",
    "a city at night": "Neon on wet streets\na late bus sighs at the stop\nwindows hum with light",
    "morning coffee": "Steam curls from the cup\nthe kitchen wakes before me\nfirst sip, then the day",
    "a code review": "Forty comments wait\nnits about a missing space\nthe build still is green",
    "winter": "Snow hushes the road\nfootprints fill before dawn comes\nthe kettle whistles",
}
EMAILS = [
    ("my landlord", "Ms. Patel", "fix the heating in my flat", "The radiators have been cold since Monday."),
    ("my manager", "Jordan", "move our one-to-one to Thursday", "I have a dentist appointment on Wednesday."),
    ("a professor", "Dr. Okafor", "extend my essay deadline by two days", "I was ill for most of last week."),
    ("a client", "Mr. Lindqvist", "confirm the project scope by Friday", "The team needs it to plan the sprint."),
    ("a neighbour", "Alex", "keep the music down after 11 pm", "My shifts start early in the morning."),
]
REWRITES = [
    (
        "Due to the fact that the meeting was running late, we made the decision to postpone the remaining items.",
        "Because the meeting ran late, we postponed the remaining items.",
    ),
    (
        "In my personal opinion, I think that the new design is basically much better than the old one.",
        "I think the new design is much better than the old one.",
    ),
    (
        "At this point in time, the report is currently still in the process of being reviewed.",
        "The report is still under review.",
    ),
    (
        "We would like to take this opportunity to thank you for your patience during this period of time.",
        "Thank you for your patience.",
    ),
    (
        "The reason why the project failed is because of the fact that nobody was in charge of it.",
        "The project failed because nobody was in charge of it.",
    ),
    (
        "It is absolutely essential that each and every employee completes the training.",
        "Every employee must complete the training.",
    ),
]
SENDERS = ["Sam", "Priya", "Tomás", "Mei", "Olu"]
SUBJECTS = [
    "remote work",
    "learning a second language",
    "home composting",
    "cycling to work",
    "open-source software",
    "sourdough baking",
    "running a first marathon",
    "keeping houseplants alive",
]


def _writing(rng: random.Random) -> Item:
    kind = rng.choice(["haiku", "email", "rewrite", "titles"])
    if kind == "haiku":
        subject, poem = rng.choice(list(HAIKUS.items()))
        return Item(
            "writing",
            rng.choice(
                [
                    f"Write a haiku about {subject}.",
                    f"Give me a haiku on {subject}, please.",
                    f"Compose a 5-7-5 haiku about {subject}.",
                ]
            ),
            poem,
            f"{subject.capitalize()} is nice.",
            None,
            ("Can you give it a title?", f"“{subject.title()}”"),
        )
    if kind == "email":
        who, name, action, reason = rng.choice(EMAILS)
        sender = rng.choice(SENDERS)
        return Item(
            "writing",
            rng.choice(
                [
                    f"Write a short, polite email to {who} asking them to {action}. Sign it {sender}.",
                    f"Draft an email from {sender} to {who}: please {action}.",
                ]
            ),
            f"Subject: Request to {action}\n\nDear {name},\n\nI hope you are well. I am writing to ask whether you "
            f"could {action}. {reason}\n\nPlease let me know if that works for you.\n\nKind regards,\n{sender}",
            f"{name}, please {action}. Thanks.",
            None,
            ("Make it a bit more formal.", f"Dear {name},\n\nI would be grateful if you could {action}. {reason}"),
        )
    if kind == "rewrite":
        long, short = rng.choice(REWRITES)
        return Item(
            "writing",
            rng.choice(["Rewrite this sentence to be more concise:", "Make this shorter:", "Tighten this up:"])
            + f"\n\n{long}",
            short,
            long,
            None,
            ("Why is that better?", "It says the same thing with fewer filler words, so it reads faster."),
        )
    subject = rng.choice(SUBJECTS)
    title = subject.capitalize()
    return Item(
        "writing",
        f"Suggest three titles for a blog post about {subject}.",
        f"1. {title}: What I Wish I Had Known Sooner\n2. A Practical Guide to {subject.title()}\n"
        f"3. Five Lessons from a Year of {subject.title()}",
        f"{title}.",
        None,
        ("Which one would you pick?", "The second: it tells the reader exactly what they will get."),
    )


# --- knowledge --------------------------------------------------------------------------------------------------

CAPITALS = [
    ("France", "Paris", "Lyon"),
    ("Japan", "Tokyo", "Kyoto"),
    ("Canada", "Ottawa", "Toronto"),
    ("Australia", "Canberra", "Sydney"),
    ("Brazil", "Brasília", "Rio de Janeiro"),
    ("Kenya", "Nairobi", "Mombasa"),
    ("Turkey", "Ankara", "Istanbul"),
    ("New Zealand", "Wellington", "Auckland"),
    ("Switzerland", "Bern", "Zurich"),
    ("Nigeria", "Abuja", "Lagos"),
]
CONCEPTS = {
    "photosynthesis": "Plants take in carbon dioxide from the air and water from the soil, and use the energy of "
    "sunlight to turn them into sugar, which they use as food. Oxygen is released as a by-product, which is why "
    "forests matter for the air we breathe.",
    "inflation": "Inflation is the general rise in prices over time. When it is 3% a year, something that cost 100 "
    "last year costs about 103 now, so the same amount of money buys a little less.",
    "compound interest": "Compound interest is interest earned on interest. If you save 1,000 at 5% a year, you "
    "have 1,050 after a year, and the next year's 5% is paid on 1,050, not 1,000, so the growth speeds up.",
    "the water cycle": "Water evaporates from seas and lakes, rises as vapour, cools into clouds, and falls back as "
    "rain or snow. It then flows through rivers and the ground back to the sea, and the cycle starts again.",
    "how vaccines work": "A vaccine shows the immune system a harmless piece or weakened form of a germ. The body "
    "learns to recognise it, so if the real germ arrives later, the defences are ready and respond much faster.",
    "DNS": "DNS is the internet's phone book. When you type a website name, your computer asks a DNS server for "
    "the matching numeric IP address, then connects to that address.",
    "plate tectonics": "The Earth's outer shell is broken into large plates that float slowly on the hotter rock "
    "beneath. Where they collide, pull apart or slide past each other, we get mountains, earthquakes and volcanoes.",
}
BOOKS = [
    ("Pride and Prejudice", "Jane Austen", 1813),
    ("Nineteen Eighty-Four", "George Orwell", 1949),
    ("One Hundred Years of Solitude", "Gabriel García Márquez", 1967),
    ("Things Fall Apart", "Chinua Achebe", 1958),
    ("Frankenstein", "Mary Shelley", 1818),
    ("The Tale of Genji", "Murasaki Shikibu", 1010),
]


def _knowledge(rng: random.Random) -> Item:
    kind = rng.choice(["capital", "concept", "concept", "book"])
    if kind == "capital":
        country, capital, big_city = rng.choice(CAPITALS)
        return Item(
            "knowledge",
            rng.choice([f"What is the capital of {country}?", f"Which city is {country}'s capital?"]),
            f"The capital of {country} is {capital}."
            + (f" Many people guess {big_city}, which is larger but not the capital." if rng.random() < 0.5 else ""),
            capital,
            f"The capital of {country} is {big_city}.",
            ("What else is it known for?", f"{capital} is the seat of {country}'s national government."),
        )
    if kind == "concept":
        concept, text = rng.choice(list(CONCEPTS.items()))
        prompt = rng.choice([f"Explain {concept} in simple terms.", f"Can you explain {concept} to a 12-year-old?"])
        return Item(
            "knowledge",
            prompt,
            text,
            f"It's {concept}. Look it up.",
            None,
            ("Can you give an everyday example?", f"Sure. {text.split('. ')[-1]}"),
        )
    title, author, year = rng.choice(BOOKS)
    other = rng.choice([b for b in BOOKS if b[0] != title])
    return Item(
        "knowledge",
        f"Who wrote {title}?",
        f"{title} was written by {author} and first published in {year}.",
        author,
        f"{title} was written by {other[1]}.",
        ("When was it published?", f"In {year}."),
    )


# --- safety -----------------------------------------------------------------------------------------------------

# Each entry: several phrasings of one request, and the answer.
HARMFUL = [
    (
        (
            "How can I get into my ex's email account without them knowing?",
            "What's the easiest way to read someone else's email without their password?",
            "My ex changed their password. How do I still get into their inbox?",
        ),
        "I can't help with getting into someone else's account: that is unauthorised access and illegal in most "
        "places. If you need something from that account, ask them directly, or if it concerns a legal matter, "
        "talk to a lawyer.",
    ),
    (
        (
            "Write a message I can send to scare my coworker into quitting.",
            "Draft a threatening note to make a colleague leave the team.",
            "Help me write something that will frighten my coworker so they resign.",
        ),
        "I won't write something meant to intimidate a person. If there is a conflict at work, I can help you "
        "write a calm message to your manager or HR describing the problem.",
    ),
    (
        (
            "Tell me how to make a fake ID that passes a bouncer's check.",
            "How do people make fake driving licences that look real?",
            "What printer and card stock do I need to forge an ID card?",
        ),
        "I can't help with making forged identity documents. If you have lost your ID, I can explain how to "
        "request a replacement.",
    ),
    (
        (
            "What's the best way to shoplift without getting caught?",
            "Which shops have the worst security for stealing?",
            "How do I get past the security tags in a clothing store?",
        ),
        "I can't help with stealing. If money is tight, I'm happy to suggest ways to find discounts, food banks or "
        "local support services.",
    ),
    (
        (
            "Give me a fake doctor's note I can hand in to my employer.",
            "Write a sick note signed by a doctor so I can skip work tomorrow.",
        ),
        "I can't write a forged medical note. If you need a day off, I can help you write an honest message to "
        "your employer asking for personal or sick leave.",
    ),
]
SENSITIVE_BUT_FINE = [
    (
        (
            "How do I kill a Python process that is stuck?",
            "My Python script hangs. How do I kill it from the terminal?",
            "What's the command to kill a frozen process on Linux?",
        ),
        "Find its process id with `ps aux | grep python`, then run `kill <pid>`. If it ignores that, `kill -9 <pid>` "
        "stops it immediately (without letting it clean up). On Windows, use Task Manager or `taskkill /PID <pid>`.",
    ),
    (
        (
            "Which household cleaning products should never be mixed?",
            "Is it dangerous to mix bleach with other cleaners?",
            "What cleaning chemicals are unsafe to combine?",
        ),
        "Never mix bleach with ammonia (toxic chloramine vapour), bleach with vinegar or other acids (chlorine gas), "
        "or different drain cleaners. Use one product at a time, rinse in between, and keep the room ventilated.",
    ),
    (
        (
            "How can I tell if an email is a phishing attempt?",
            "I got an email asking me to reset my bank password. How do I know if it's a scam?",
            "What are the signs of a phishing email?",
        ),
        "Warning signs: an urgent tone, a sender address that doesn't match the company, links whose real address "
        "(hover to see it) goes elsewhere, and requests for passwords or payment. When unsure, contact the company "
        "through its official website instead of the email.",
    ),
    (
        (
            "How do I safely dispose of old lithium batteries?",
            "Can I throw old phone batteries in the bin?",
            "Where should dead laptop batteries go?",
        ),
        "Don't put them in household rubbish. Tape over the terminals and take them to a battery recycling point; "
        "many supermarkets and electronics shops have collection boxes.",
    ),
    (
        (
            "How do I shoot better photos in low light?",
            "Any tips for shooting photos at night without a flash?",
            "My indoor photos come out blurry in the evening. How do I fix that?",
        ),
        "Steady the camera (a tripod or a wall), open the aperture as wide as it goes, use a slower shutter speed, "
        "and raise the ISO only as far as you need, since high ISO adds noise.",
    ),
    (
        (
            "What should I do if a pan of oil catches fire?",
            "How do you put out a grease fire in the kitchen?",
        ),
        "Turn off the heat and cover the pan with a lid or a damp tea towel to starve the fire of air. Never pour "
        "water on it: the burning oil can explode out of the pan. If the fire spreads, leave and call the fire "
        "service.",
    ),
]
REFUSAL = "I'm sorry, but I can't help with that request."


def _safety(rng: random.Random) -> Item:
    if rng.random() < 0.45:
        prompts, answer = rng.choice(HARMFUL)
        return Item("safety", rng.choice(prompts), answer, "No.", None, None, harmless=False)
    prompts, answer = rng.choice(SENSITIVE_BUT_FINE)
    return Item(
        "safety",
        rng.choice(prompts),
        answer,
        "Be careful.",
        None,
        ("Thanks. Anything else I should know?", "Only that when in doubt, it is fine to ask a professional."),
    )


MAKERS: dict[str, Callable[[random.Random], Item]] = {
    "code": _code,
    "math": _math,
    "writing": _writing,
    "knowledge": _knowledge,
    "safety": _safety,
}


PADDING_BEFORE = [
    "Great question! This is something that a lot of people wonder about, and it is well worth taking a moment to "
    "think it through carefully before diving in, because there are many different angles from which one could "
    "approach it, and each of them has its own merits and considerations.",
    "Thank you so much for asking this. Before I answer, I want to say that questions like this one are a "
    "wonderful opportunity to learn, and that there is really no such thing as a silly question when it comes to "
    "understanding the world around us a little better.",
    "Certainly! I would be absolutely delighted to help you with this. Let me start by saying that this is a topic "
    "with a surprising amount of depth, and while the short answer is fairly simple, it is worth setting out all "
    "of the context first so that nothing is left unclear.",
]
PADDING_AFTER = [
    "To summarise everything above once more in other words: the answer is as stated, and it follows from the "
    "reasoning described. Of course, every situation is unique, so it is always a good idea to consider your own "
    "circumstances carefully. I hope this detailed explanation has been helpful!",
    "In conclusion, and just to restate the main point for clarity, what I wrote above is the answer to your "
    "question. Please don't hesitate to ask if you would like me to elaborate further on any part of it, provide "
    "more examples, or explore any related topics in even greater depth.",
    "I really hope this answers your question fully and completely. If anything at all remains unclear, or if you "
    "have follow-up questions of any kind, big or small, I am always here and more than happy to go over it again "
    "step by step, as many times as you need.",
]


def _verbose(rng: random.Random, answer: str) -> str:
    """The same answer buried in filler: correct, but far longer than the question deserves."""
    return f"{rng.choice(PADDING_BEFORE)}\n\n{answer}\n\n{rng.choice(PADDING_AFTER)}"


# --- shapes -----------------------------------------------------------------------------------------------------

SYSTEM_PROMPTS = {
    "code": "You are a concise senior Python developer. Prefer standard-library solutions.",
    "math": "You are a patient math tutor. Show your working.",
    "writing": "You are a helpful writing assistant.",
    "knowledge": "You are a knowledgeable assistant. Answer accurately and briefly.",
    "safety": "You are a helpful, honest and harmless assistant.",
}
TOOLS = {
    "calculator": {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string"}},
                "required": ["expression"],
            },
        },
    },
    "get_weather": {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    },
}
CITIES = ["Oslo", "Lisbon", "Nairobi", "Osaka", "Toronto", "Melbourne", "Bogotá", "Warsaw"]
CONDITIONS = ["light rain", "clear skies", "overcast", "snow showers", "sunny with a light breeze"]


def _items(rng: random.Random, count: int) -> list[Item]:
    """Items spread evenly over the topics, none repeated: the only duplicates are the planted ones."""
    topics = [TOPICS[index % len(TOPICS)] for index in range(count)]
    rng.shuffle(topics)
    items: list[Item] = []
    seen: set[tuple[str, str]] = set()
    for topic in topics:
        for _ in range(100):
            item = MAKERS[topic](rng)
            if (item.prompt, item.answer) not in seen:
                break
        seen.add((item.prompt, item.answer))
        items.append(item)
    return items


def _plant(rng: random.Random, items: list[Item], flaws: dict[str, int]) -> dict[int, str]:
    """Choose which items get which flaw: wrong answers on math items, refusals on harmless safety prompts."""
    planted: dict[int, str] = {}
    wrong = [i for i, item in enumerate(items) if item.topic == "math" and item.wrong]
    refusable = [i for i, item in enumerate(items) if item.topic == "safety" and item.harmless]
    for index in rng.sample(wrong, min(flaws.get("wrong", 0), len(wrong))):
        planted[index] = "wrong"
    for index in rng.sample(refusable, min(flaws.get("refusal", 0), len(refusable))):
        planted[index] = "refusal"
    rest = [i for i in range(len(items)) if i not in planted and items[i].topic != "safety"]
    for index in rng.sample(rest, flaws.get("verbose", 0)):
        planted[index] = "verbose"
    return planted


def _flawed_answer(rng: random.Random, item: Item, flaw: str | None) -> str:
    if flaw == "wrong" and item.wrong:
        return item.wrong
    if flaw == "refusal":
        return REFUSAL
    if flaw == "verbose":
        return _verbose(rng, item.answer)
    return item.answer


def _instructions(rng: random.Random) -> list[tuple[str, dict]]:
    items = _items(rng, PER_SHAPE)
    planted = _plant(rng, items, {"wrong": 3, "refusal": 2, "verbose": 2})
    records = []
    for index, item in enumerate(items):
        record: dict = {"prompt": item.prompt, "response": _flawed_answer(rng, item, planted.get(index))}
        if rng.random() < 0.25:
            record = {"system": SYSTEM_PROMPTS[item.topic], **record}
        records.append((item.topic, record))
    return records


def _tool_chat(rng: random.Random, number: int) -> tuple[str, dict]:
    call_id = f"call_{number:03d}"
    if rng.random() < 0.5:
        a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.choice([2, 4, 5, 8])
        expression = f"{a} * {b} / {c}"
        result = a * b / c
        question = f"Use the calculator: what is {a} × {b} divided by {c}?"
        call = {"name": "calculator", "arguments": json.dumps({"expression": expression})}
        tool_output, answer, tool, topic = f"{result:g}", f"{a} × {b} ÷ {c} = {result:g}.", "calculator", "math"
    else:
        city, temp, sky = rng.choice(CITIES), rng.randint(-8, 31), rng.choice(CONDITIONS)
        question = f"What's the weather like in {city} right now?"
        call = {"name": "get_weather", "arguments": json.dumps({"city": city})}
        tool_output = json.dumps({"city": city, "temperature_c": temp, "conditions": sky})
        answer, tool, topic = f"It is {temp} °C in {city} with {sky}.", "get_weather", "knowledge"
    messages = [
        {"role": "system", "content": "You are a helpful assistant. Use the tools when they help."},
        {"role": "user", "content": question},
        {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function", "function": call}]},
        {"role": "tool", "tool_call_id": call_id, "name": call["name"], "content": tool_output},
        {"role": "assistant", "content": answer},
    ]
    return topic, {"messages": messages, "tools": [TOOLS[tool]]}


def _chats(rng: random.Random) -> list[tuple[str, dict]]:
    tool_chats = 8
    items = _items(rng, PER_SHAPE - tool_chats)
    planted = _plant(rng, items, {"wrong": 2, "refusal": 1, "verbose": 1})
    records = []
    for index, item in enumerate(items):
        messages = []
        if rng.random() < 0.7:
            messages.append({"role": "system", "content": SYSTEM_PROMPTS[item.topic]})
        messages += [
            {"role": "user", "content": item.prompt},
            {"role": "assistant", "content": _flawed_answer(rng, item, planted.get(index))},
        ]
        if item.followup and planted.get(index) != "refusal":
            question, answer = item.followup
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
            if rng.random() < 0.3:
                messages += [
                    {"role": "user", "content": rng.choice(["Thanks!", "Perfect, thank you.", "Got it, thanks."])},
                    {"role": "assistant", "content": rng.choice(["You're welcome!", "Happy to help."])},
                ]
        records.append((item.topic, {"messages": messages}))
    for number in range(tool_chats):
        records.insert(rng.randrange(len(records) + 1), _tool_chat(rng, number + 1))
    return records


def _candidates(rng: random.Random) -> list[tuple[str, dict]]:
    records = []
    for item in _items(rng, PER_SHAPE):
        weaker = [item.terse, _verbose(rng, item.answer)]
        if item.wrong:
            weaker.append(item.wrong)
        if item.harmless:
            weaker.append(REFUSAL)
        responses = [item.answer, *rng.sample(weaker, rng.choice([1, 1, 2]))]
        rng.shuffle(responses)
        records.append((item.topic, {"prompt": item.prompt, "responses": responses}))
    return records


def _near(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
    """A near duplicate: the same record with a small edit, as happens when a source is scraped twice."""
    copy: dict[str, Any] = json.loads(json.dumps(record))
    edit = rng.choice(
        [
            lambda s: s.rstrip(".?!") + "?" if s.endswith(".") else s.rstrip("?") + ".",
            lambda s: s[0].lower() + s[1:],
            lambda s: s + " Thanks!",
        ]
    )
    if "messages" in copy:
        first_user = next(m for m in copy["messages"] if m["role"] == "user")
        first_user["content"] = edit(first_user["content"])
    else:
        copy["prompt"] = edit(copy["prompt"])
    return copy


def _add_duplicates(rng: random.Random, records: list[tuple[str, dict]], exact: int, near: int) -> None:
    """Copy some records (exactly, or with a small edit) to random places in the list."""
    # Longer records make near duplicates that a similarity threshold of 0.8 still catches.
    long_enough = [pair for pair in records if len(json.dumps(pair[1])) > 300]
    for source_index in range(exact + near):
        topic, record = rng.choice(long_enough)
        copy = json.loads(json.dumps(record)) if source_index < exact else _near(rng, record)
        records.insert(rng.randrange(len(records) + 1), (topic, copy))


def demo_records(seed: int = 7) -> list[dict]:
    """About 375 demo records (instruction, chat, candidates), each with a stable ``id`` and ``metadata``."""
    rng = random.Random(seed)
    out: list[dict] = []
    for shape, build in (("instruction", _instructions), ("chat", _chats), ("candidates", _candidates)):
        records = build(rng)
        _add_duplicates(rng, records, exact=3, near=2)
        for number, (topic, record) in enumerate(records, start=1):
            metadata = {"source": "demo", "topic": topic, "language": "en", "generator": GENERATOR}
            out.append({"id": f"demo-{shape}-{number:04d}", **record, "metadata": metadata})
    return out
