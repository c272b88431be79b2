"""Generate the bundled sample ChatGPT export, deterministically.

    python -m tests.support.samples.build_chatgpt_sample

writes ``chatgpt_export.json`` (the export) and ``chatgpt_export_labels.json`` (conversation
id -> topic) in ``graphnode/samples/``, which ships them. The same code always writes the
same bytes: every choice comes from one ``random.Random(7)``, and ids are drawn from it too.

Six topics, eleven conversations each. A conversation is one *thread* of its topic (a
specific title, opening question and answer), continued by follow-up exchanges drawn from the
topic's bank; the assistant's sentences are mixed from the thread's answer, the follow-up's
answer and the topic's general tips, with varied openers and closers. On top of that:

* about a third of the conversations have a regenerated answer: a user message with two
  assistant children, one of them an abandoned off-topic draft (its text always contains
  "ignore this draft"), sometimes continued by one more abandoned user turn;
  ``current_node`` is the last node of the active branch;
* a few threads call a tool (a ``tool`` message between the question and the answer) and
  put a fenced code block or URLs in the assistant's text.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SEED = 7
#: Where the bundled samples live: the package ships the data, not this generator.
HERE = Path(__file__).resolve().parents[3] / "graphnode" / "samples"
EXPORT_PATH = HERE / "chatgpt_export.json"
LABELS_PATH = HERE / "chatgpt_export_labels.json"

#: Conversations start between these instants (UTC): about eight months of 2025.
PERIOD_START = datetime(2025, 2, 1, tzinfo=UTC).timestamp()
PERIOD_END = datetime(2025, 9, 30, tzinfo=UTC).timestamp()

#: Share of conversations with a regenerated answer (an abandoned branch).
BRANCHED_SHARE = 1 / 3

MODELS = ("gpt-4o", "gpt-4o", "gpt-4o", "gpt-4o-mini", "o3-mini")


@dataclass(frozen=True)
class Thread:
    """One conversation's subject: its title, opening question and the core of the answer."""

    title: str
    question: str
    answer: tuple[str, ...]  # 3-4 sentences, in order; the first two are always used
    code: str | None = None  # a fenced block shown after the answer's prose
    link: str | None = None  # one sentence with a URL or a markdown link
    tool: tuple[str, str] | None = None  # (tool name, output) between question and answer


@dataclass(frozen=True)
class Topic:
    key: str
    threads: tuple[Thread, ...]
    followups: tuple[tuple[str, tuple[str, ...]], ...]  # (question, 2-3 answer sentences)
    tips: tuple[str, ...]  # stand-alone sentences true of the whole topic
    contexts: tuple[str, ...]  # what a user adds about their situation
    closers: tuple[str, ...]


SOURDOUGH = Topic(
    key="sourdough",
    threads=(
        Thread(
            "Sourdough starter smells like nail polish remover",
            "My sourdough starter smells like nail polish remover about 12 hours after I "
            "feed it. Is it ruined?",
            (
                "That sharp acetone smell almost always means the starter is hungry, not dead.",
                "Once the yeast and bacteria run out of flour they produce more ethyl acetate "
                "and acetic acid, and that is what your nose is picking up.",
                "Feed it at a higher ratio for a few days, something like 1:5:5 starter to "
                "flour to water, and keep it somewhere around 75°F.",
                "When it doubles within four to six hours of a feeding and smells mildly "
                "tangy again, it is ready to leaven a loaf.",
            ),
        ),
        Thread(
            "Dense, gummy crumb in my sourdough loaf",
            "My sourdough loaves come out dense and gummy in the middle even though the "
            "crust looks great. What am I doing wrong?",
            (
                "A gummy crumb usually comes from underfermentation or from cutting the loaf "
                "while it is still hot.",
                "If the dough did not grow at least 50 percent during bulk fermentation, the "
                "gluten never got enough gas to set an open, airy structure.",
                "Let the bread cool for a full two hours, because the crumb keeps cooking and "
                "setting as the steam escapes.",
                "An internal temperature of about 208°F is a good sign the loaf is baked through.",
            ),
        ),
        Thread(
            "Converting a sourdough recipe to 75% hydration",
            "I have a recipe at 68% hydration and want to try 75%. How much extra water do "
            "I add, and does anything else change?",
            (
                "Hydration is just the water weight divided by the total flour weight, "
                "including the flour inside your starter.",
                "For 500 grams of flour, going from 68 to 75 percent means adding 35 grams of "
                "water, ideally held back and mixed in after the autolyse.",
                "Wetter dough ferments a little faster and needs more sets of stretch and "
                "folds to build strength.",
                "Expect a slacker dough at shaping, so wet hands and a bench scraper help a lot.",
            ),
        ),
        Thread(
            "Best flour for a whole wheat sourdough sandwich loaf",
            "I want to bake a soft whole wheat sourdough sandwich loaf for the kids' lunches. "
            "Which flour should I use?",
            (
                "A blend of about 50 percent whole wheat and 50 percent strong bread flour "
                "gives you flavor without a brick-like texture.",
                "Whole wheat bran cuts gluten strands, so the bread flour supplies the protein "
                "that keeps the loaf tall.",
                "Adding 5 percent honey and 8 percent softened butter makes the crumb tender "
                "and the crust soft enough for sandwiches.",
                "Bake it in a lidded pullman pan if you want square slices.",
            ),
        ),
        Thread(
            "How long can I cold retard sourdough overnight?",
            "How long can shaped sourdough stay in the fridge before baking? Sometimes I "
            "can't get to it until the next evening.",
            (
                "Most doughs are happy in the fridge for 12 to 48 hours at around 38°F.",
                "The cold slows the yeast far more than the bacteria, so a longer retard mostly "
                "makes the bread more sour.",
                "If the shaped loaf was already close to fully proofed before it went in, bake "
                "it sooner or it may overproof and spread.",
                "You can bake straight from the fridge, and the cold dough is easier to score.",
            ),
        ),
        Thread(
            "Getting an ear on my sourdough batard",
            "How do I get that dramatic ear on my batard? My scores just spread flat.",
            (
                "An ear comes from a shallow cut made at a low angle, roughly 30 degrees, with "
                "a very sharp lame.",
                "Good surface tension from shaping matters just as much, so tighten the loaf "
                "well before it goes into the banneton.",
                "Bake covered with plenty of steam for the first 20 minutes so the crust stays "
                "flexible while the loaf springs.",
                "Slightly underproofed dough also gives a bolder ear than fully proofed dough.",
            ),
        ),
        Thread(
            "Reviving a sourdough starter after a month in the fridge",
            "I forgot my starter in the back of the fridge for a month and there's grey "
            "liquid on top. Can I bring it back?",
            (
                "That grey liquid is called hooch, and it is just alcohol from a starving culture.",
                "Pour it off, discard all but a tablespoon of starter, and feed it with equal "
                "weights of flour and water.",
                "Two or three feedings at room temperature, 12 hours apart, usually bring it "
                "back to full strength.",
                "Only throw it out if you see pink, orange or fuzzy mold.",
            ),
        ),
        Thread(
            "Sourdough focaccia for a party of 12",
            "I'm making sourdough focaccia for a party of 12 people. How should I scale the "
            "dough and what pan do I need?",
            (
                "A half sheet pan of focaccia feeds about 12 people as a side, and it takes "
                "roughly 1 kilogram of flour.",
                "Focaccia likes high hydration, around 80 percent, and a generous 60 grams of "
                "olive oil in the pan.",
                "Let it proof in the oiled pan until it is puffy and jiggles, then dimple it "
                "firmly with oiled fingers.",
                "Rosemary, flaky salt and halved cherry tomatoes are a crowd-pleasing topping.",
            ),
        ),
        Thread(
            "Dutch oven vs baking steel for sourdough",
            "Should I bake my sourdough in a Dutch oven or on a baking steel with a steam tray?",
            (
                "A preheated Dutch oven traps the loaf's own steam, which makes it the most "
                "forgiving option for home ovens.",
                "A baking steel stores a lot of heat and gives great oven spring, but you need "
                "to add steam yourself with lava rocks or a tray of boiling water.",
                "Steels shine when you bake several baguettes or two loaves at once.",
                "Whichever you choose, preheat it for at least 45 minutes at 475°F.",
            ),
        ),
        Thread(
            "My sourdough bread tastes too sour",
            "My family says my sourdough is way too sour. How do I make a milder loaf?",
            (
                "Sourness comes mostly from acetic acid, which builds up with long, cool "
                "fermentation.",
                "Use your starter at its peak rather than after it has collapsed, and keep "
                "bulk fermentation warm, around 78°F.",
                "Shortening the cold retard to a few hours, or skipping it, also tames the tang.",
                "A stiff starter kept at 50 percent hydration tends to be milder as well.",
            ),
        ),
        Thread(
            "Stretch and folds vs kneading for sourdough",
            "Do I actually need to knead sourdough, or are stretch and folds enough?",
            (
                "For most sourdough recipes, three or four sets of stretch and folds 30 "
                "minutes apart build plenty of strength.",
                "Time does a lot of the work, because gluten develops on its own while the "
                "dough rests.",
                "Kneading helps with lower hydration doughs or enriched ones like sandwich bread.",
                "A windowpane test tells you when the gluten is developed enough.",
            ),
        ),
    ),
    followups=(
        (
            "How do I know when bulk fermentation is actually done?",
            (
                "Look for a 50 to 75 percent rise, a domed surface and bubbles along the sides "
                "of the container.",
                "The dough should feel airy and jiggle when you shake the bowl.",
                "A straight-sided container with a rubber band at the starting height makes "
                "this much easier to judge.",
            ),
        ),
        (
            "Can I use all-purpose flour instead of bread flour?",
            (
                "Yes, but all-purpose flour has less protein, so lower the hydration by about "
                "5 percent.",
                "The crumb will be a bit tighter and the loaf slightly flatter.",
            ),
        ),
        (
            "What about adding rye flour?",
            (
                "Even 10 to 15 percent rye adds a deeper, earthier flavor and speeds up "
                "fermentation.",
                "Rye absorbs more water and makes the dough stickier, so handle it with wet hands.",
            ),
        ),
        (
            "My kitchen is cold in winter. Any tricks?",
            (
                "Put the dough in the oven with only the light on, which usually holds it "
                "around 78°F.",
                "Using warm water, about 85°F, when you mix also gives fermentation a head start.",
                "A proofing box is a nice upgrade if you bake every week.",
            ),
        ),
        (
            "Why does my loaf spread out flat after I turn it out of the banneton?",
            (
                "Flat loaves usually mean overproofing or weak shaping.",
                "Try a tighter preshape, a 20 minute bench rest, and then a firm final shape "
                "that builds tension on the surface.",
            ),
        ),
        (
            "How should I store the bread so it stays fresh?",
            (
                "Keep it cut side down on a wooden board for the first day, then in a bread bag.",
                "Slice and freeze anything you won't eat in three days, and toast the slices "
                "straight from the freezer.",
            ),
        ),
        (
            "What's the point of an autolyse?",
            (
                "Resting just the flour and water for 30 to 60 minutes lets the flour hydrate "
                "and gluten start forming on its own.",
                "The dough becomes more extensible and easier to shape, with less mixing.",
            ),
        ),
        (
            "How much salt should go in?",
            (
                "Two percent of the flour weight is the standard, so 10 grams for 500 grams of "
                "flour.",
                "Add it after the autolyse with a splash of water so it dissolves evenly.",
            ),
        ),
    ),
    tips=(
        "Weighing ingredients with a kitchen scale makes sourdough far more consistent than "
        "using cups.",
        "Watch the dough rather than the clock, since fermentation speed depends so much on "
        "temperature.",
        "A healthy starter should roughly double and have a domed, bubbly top at its peak.",
        "Keeping notes on times, temperatures and hydration for each bake helps you spot "
        "patterns quickly.",
        "Rice flour on the banneton keeps the dough from sticking better than wheat flour does.",
        "Steam during the first part of the bake is what lets the loaf expand before the "
        "crust sets.",
        "Letting the loaf cool completely before slicing keeps the crumb from turning gummy.",
        "Small changes, one at a time, make it much easier to learn what each variable does.",
        "An instant-read thermometer takes the guesswork out of both dough temperature and "
        "doneness.",
        "Feeding the starter with a little whole grain flour gives the microbes more to eat.",
    ),
    contexts=(
        "My kitchen sits around 68°F most of the year.",
        "I'm using King Arthur bread flour and a starter I made in January.",
        "I've baked maybe ten loaves so far.",
        "I bake in a Lodge Dutch oven.",
        "I usually feed my starter once a day with equal parts flour and water.",
        "I live at about 5,000 feet of altitude, if that matters.",
    ),
    closers=(
        "Happy baking, and let me know how the next loaf turns out.",
        "If you share a photo of the crumb, I can help diagnose it further.",
        "Tell me your kitchen temperature and I can suggest a timeline.",
        "Good luck with the next bake.",
    ),
)

FINANCE = Topic(
    key="personal-finance",
    threads=(
        Thread(
            "Index funds vs target-date fund in a Roth IRA",
            "Should I put my Roth IRA into a total market index fund or just buy a "
            "target-date fund?",
            (
                "Both are reasonable, low-cost choices, and the bigger win is simply "
                "contributing every year.",
                "A target-date fund handles the stock and bond mix for you and gradually "
                "becomes more conservative as you approach retirement.",
                "A total market index fund is usually cheaper, with expense ratios as low as "
                "0.03 percent, but you decide the allocation and rebalance yourself.",
                "If you know you'd never rebalance, the target-date fund's simplicity is worth "
                "its slightly higher fee.",
            ),
        ),
        Thread(
            "Zero-based budget on an irregular income",
            "I'm a freelancer and my income swings a lot month to month. How do I make a "
            "zero-based budget work?",
            (
                "With irregular income, budget from last month's earnings instead of guessing "
                "this month's.",
                "Start by listing fixed expenses like rent, insurance and loan payments, then "
                "give every remaining dollar a job.",
                "A buffer account holding one month of expenses smooths out the lean months.",
                "In good months, send the surplus to taxes, savings and the buffer before "
                "lifestyle spending.",
            ),
        ),
        Thread(
            "How big should my emergency fund be?",
            "How many months of expenses should I keep in an emergency fund, and where "
            "should I keep it?",
            (
                "Three to six months of essential expenses is the usual guideline.",
                "Lean toward six months or more if you are self-employed, have dependents or "
                "work in a volatile industry.",
                "Keep it in a high-yield savings account or money market fund, where it earns "
                "interest but is available within a day or two.",
                "Don't invest the emergency fund in stocks, because emergencies often arrive "
                "during downturns.",
            ),
        ),
        Thread(
            "Paying off student loans vs investing in my 401(k)",
            "I have student loans at 5.5% interest. Should I pay them off aggressively or "
            "invest more in my 401(k)?",
            (
                "Always contribute enough to get the full employer match first, because that "
                "is an instant 50 or 100 percent return.",
                "Beyond the match, a 5.5 percent loan sits in a gray zone where either choice "
                "is defensible.",
                "Paying it down is a guaranteed 5.5 percent return, while stocks have "
                "historically returned more but with real volatility.",
                "Many people split the difference, sending extra payments to the loan and "
                "raising their 401(k) contribution by one percent a year.",
            ),
        ),
        Thread(
            "Tax-loss harvesting without triggering a wash sale",
            "How does tax-loss harvesting work in a taxable brokerage account, and how do I "
            "avoid a wash sale?",
            (
                "You sell an investment that has dropped below your cost basis and use the "
                "realized loss to offset capital gains.",
                "Up to 3,000 dollars of net losses per year can also offset ordinary income, "
                "and the rest carries forward.",
                "A wash sale happens if you buy the same or a substantially identical security "
                "within 30 days before or after the sale.",
                "Swapping an S&P 500 fund for a total market fund keeps you invested without "
                "running afoul of the rule.",
            ),
        ),
        Thread(
            "Three-fund portfolio allocation at 35",
            "I'm 35 and want to set up a three-fund portfolio. What allocation makes sense?",
            (
                "A three-fund portfolio combines a US total market fund, an international "
                "fund and a bond fund.",
                "At 35, many investors hold something like 60 percent US stocks, 30 percent "
                "international and 10 percent bonds.",
                "The right bond share depends more on how you would react to a 40 percent "
                "crash than on your exact age.",
                "Rebalance once a year, or whenever an asset class drifts more than five "
                "percentage points from its target.",
            ),
        ),
        Thread(
            "Quarterly estimated taxes as a freelancer",
            "This is my first year freelancing. How do quarterly estimated taxes work and how "
            "much should I set aside?",
            (
                "In the US, estimated payments are due in April, June, September and January.",
                "Self-employment tax alone is 15.3 percent on net earnings, on top of income tax.",
                "Setting aside 25 to 30 percent of every invoice in a separate savings account "
                "is a safe starting point.",
                "Paying 100 percent of last year's tax liability through estimates protects "
                "you from underpayment penalties under the safe harbor rule.",
            ),
        ),
        Thread(
            "Should I refinance my car loan at 8.9%?",
            "My car loan is at 8.9% with 40 months left. Is it worth refinancing?",
            (
                "If your credit score has improved since you bought the car, you may qualify "
                "for a rate several points lower.",
                "On a 20,000 dollar balance, dropping from 8.9 to 5.9 percent saves roughly "
                "1,000 dollars over 40 months.",
                "Check for origination fees and avoid stretching the term, since a longer loan "
                "can cost more overall.",
                "Credit unions often have the best auto refinance rates.",
            ),
        ),
        Thread(
            "Using an HSA as a stealth retirement account",
            "I keep hearing that an HSA is the best retirement account. Is that true?",
            (
                "An HSA is the only account with a triple tax advantage: deductible "
                "contributions, tax-free growth and tax-free withdrawals for medical costs.",
                "If you can pay current medical bills out of pocket, you can invest the HSA "
                "and let it grow for decades.",
                "Save your receipts, because you can reimburse yourself for old medical "
                "expenses years later.",
                "After 65, non-medical withdrawals are taxed like a traditional IRA, so it is "
                "never worse than one.",
            ),
        ),
        Thread(
            "Is a 0.5% expense ratio really that bad?",
            "My 401(k)'s only S&P 500 option has a 0.5% expense ratio. Is that worth "
            "worrying about?",
            (
                "Half a percent sounds small, but over 30 years it can consume more than 10 "
                "percent of your ending balance.",
                "Still, the tax break and any employer match usually outweigh a high fee, so "
                "keep contributing.",
                "Check whether the plan offers a cheaper target-date or institutional share "
                "class fund.",
                "When you change jobs, rolling the account into an IRA lets you choose "
                "low-cost funds.",
            ),
        ),
        Thread(
            "Saving for a house down payment in three years",
            "We want to buy a house in about three years and need around $60k for the down "
            "payment. Where should we keep that money?",
            (
                "Money you need in three years should not be in the stock market.",
                "High-yield savings accounts, CDs and Treasury bills are the usual homes for a "
                "down payment fund.",
                "Saving 60,000 dollars in 36 months means setting aside about 1,670 dollars a "
                "month before interest.",
                "A CD or Treasury ladder lets you lock in rates while keeping some money "
                "maturing every few months.",
            ),
            tool=(
                "python",
                "target = 60000\nmonths = 36\napy = 0.043\nr = apy / 12\n"
                "payment = target * r / ((1 + r) ** months - 1)\nprint(round(payment, 2))\n"
                "\n1559.47",
            ),
            code=(
                "```python\ntarget, months, apy = 60_000, 36, 0.043\nr = apy / 12\n"
                "monthly = target * r / ((1 + r) ** months - 1)\n"
                'print(f"{monthly:,.2f} per month")  # 1,559.47 per month\n```'
            ),
        ),
    ),
    followups=(
        (
            "What's the difference between a Roth and a traditional account again?",
            (
                "With a Roth you pay tax now and withdrawals in retirement are tax-free.",
                "With a traditional account you deduct contributions today and pay income tax "
                "when you withdraw.",
                "If you expect a higher tax bracket later, the Roth usually wins.",
            ),
        ),
        (
            "How often should I check my investments?",
            (
                "For a long-term index portfolio, once or twice a year is plenty.",
                "Checking daily tends to make people react to noise and sell at the wrong time.",
            ),
        ),
        (
            "Should I pay off my credit card before doing any of this?",
            (
                "Yes, credit card debt at 20 percent or more beats almost any investment return.",
                "Keep a small starter emergency fund, then throw everything else at the card "
                "balance.",
            ),
        ),
        (
            "What about I bonds?",
            (
                "I bonds track inflation and are backed by the US Treasury, but you can only "
                "buy 10,000 dollars a year per person.",
                "They can't be redeemed in the first 12 months, and cashing out before five "
                "years costs three months of interest.",
            ),
        ),
        (
            "Is it better to invest a lump sum or spread it out?",
            (
                "Historically, investing a lump sum right away beats dollar-cost averaging "
                "about two thirds of the time.",
                "Spreading it over a few months is still fine if it helps you sleep at night.",
            ),
        ),
        (
            "Which budgeting app would you recommend?",
            (
                "YNAB is built around zero-based budgeting, while Monarch and Copilot are "
                "better for tracking net worth.",
                "A simple spreadsheet works just as well if you review it every week.",
            ),
        ),
        (
            "How does this change if I get married next year?",
            (
                "Married couples filing jointly get wider tax brackets and a larger standard "
                "deduction.",
                "A nonworking or low-earning spouse can also contribute to a spousal IRA.",
                "It's a good moment to agree on shared goals and how you split expenses.",
            ),
        ),
        (
            "Do I need a financial advisor for this?",
            (
                "For index investing and budgeting, most people don't need an ongoing advisor.",
                "If you want a second opinion, a flat-fee fiduciary planner is cheaper than an "
                "advisor who charges one percent of assets every year.",
            ),
        ),
    ),
    tips=(
        "Automating contributions on payday is the easiest way to save consistently.",
        "Low fees compound in your favor just as surely as returns do.",
        "Keep your investment plan simple enough that you will stick with it in a bear market.",
        "Your savings rate matters far more than picking the perfect fund.",
        "Review your budget monthly and adjust categories instead of abandoning the plan.",
        "Tax-advantaged accounts like a 401(k), IRA and HSA should usually be filled before a "
        "taxable brokerage account.",
        "Writing down the purpose of each account makes decisions during market swings much "
        "easier.",
        "A written investment policy, even one page long, keeps you from chasing headlines.",
        "Time in the market has historically mattered more than timing the market.",
        "This isn't personalized tax advice, so double-check the numbers against your own "
        "situation.",
    ),
    contexts=(
        "I'm single and make about $78k a year.",
        "We have roughly $18k in savings right now.",
        "My employer matches 4% of salary in the 401(k).",
        "I live in California, so state taxes are high.",
        "I have about $12k of credit card debt that I'm paying down.",
        "We're a family of four on one income.",
    ),
    closers=(
        "If you share your rough numbers, I can sketch a plan.",
        "Happy to run through a concrete example if that helps.",
        "Let me know if you'd like a month-by-month breakdown.",
        "A fee-only planner can confirm the details for your specific situation.",
    ),
)

PYTHON = Topic(
    key="python",
    threads=(
        Thread(
            "Fixing 'list index out of range' in a Python loop",
            "I keep getting IndexError: list index out of range in a loop that compares each "
            "element with the next one. What's going on?",
            (
                "The error means you are reading an index that doesn't exist, and comparing "
                "items[i] with items[i + 1] fails on the last element.",
                "Loop over range(len(items) - 1), or better, pair neighbours with zip.",
                "Iterating with zip avoids index arithmetic entirely and reads more clearly.",
                "Python 3.10 also added itertools.pairwise, which does exactly this.",
            ),
            code=(
                "```python\nfrom itertools import pairwise\n\nfor current, nxt in "
                'pairwise(items):\n    if nxt < current:\n        print("drop at", current, '
                '"->", nxt)\n```'
            ),
        ),
        Thread(
            "Mutable default argument bug in Python",
            "My function keeps remembering items from previous calls. I defined it as "
            "def add_item(item, bucket=[]). Why?",
            (
                "Default arguments are evaluated once, when the function is defined, not each "
                "time it is called.",
                "So every call that omits bucket shares the same list object and keeps "
                "appending to it.",
                "The usual fix is to default to None and create a new list inside the function.",
                "Linters like ruff flag this pattern with rule B006, so it's worth enabling.",
            ),
            code=(
                "```python\ndef add_item(item, bucket=None):\n    if bucket is None:\n"
                "        bucket = []\n    bucket.append(item)\n    return bucket\n```"
            ),
        ),
        Thread(
            "Why pandas shows SettingWithCopyWarning",
            "pandas shows SettingWithCopyWarning when I filter a DataFrame and then set a "
            "column. Is my data actually changing?",
            (
                "The warning means pandas can't tell whether you are modifying a view of the "
                "original DataFrame or a copy.",
                "Chained indexing like df[df.age > 30]['group'] = 'A' often modifies a "
                "temporary copy, so the original stays unchanged.",
                "Use a single .loc call with both the row mask and the column to be explicit.",
                "If you really want a separate DataFrame, call .copy() after filtering.",
            ),
        ),
        Thread(
            "Debugging a circular import between two modules",
            "I get ImportError: cannot import name 'User' from partially initialized module "
            "'models'. How do I fix a circular import?",
            (
                "That message means models imports a module that, directly or indirectly, "
                "imports models again before it has finished loading.",
                "The cleanest fix is to move the shared pieces into a third module that both "
                "can import.",
                "If the import is only needed for type hints, put it under typing.TYPE_CHECKING.",
                "Importing inside the function that needs it also breaks the cycle, though it "
                "hides the dependency.",
            ),
        ),
        Thread(
            "Speeding up a slow CSV parsing script",
            "My script reads a 2 GB CSV line by line with the csv module and takes ages. How "
            "can I speed it up?",
            (
                "First measure where the time actually goes, since parsing is often not the "
                "bottleneck.",
                "Reading the file with pandas.read_csv and the pyarrow engine is usually ten "
                "times faster than a pure Python loop.",
                "If memory is tight, process the file in chunks with the chunksize argument.",
                "Converting the data to Parquet once makes every later run dramatically faster.",
            ),
            tool=(
                "python",
                "csv.reader loop:            41.82 s\n"
                "pandas.read_csv (c):         6.10 s\n"
                "pandas.read_csv (pyarrow):   3.97 s\n"
                "rows: 12,204,551",
            ),
            code=(
                '```python\nimport pandas as pd\n\nfor chunk in pd.read_csv("events.csv", '
                'engine="pyarrow", chunksize=1_000_000):\n    process(chunk)\n```'
            ),
        ),
        Thread(
            "asyncio warning: coroutine was never awaited",
            "I get RuntimeWarning: coroutine 'fetch' was never awaited, and nothing seems to "
            "happen. What does that mean?",
            (
                "Calling an async function only creates a coroutine object, and nothing runs "
                "until it is awaited or scheduled.",
                "Inside another coroutine, write await fetch(url) instead of fetch(url).",
                "At the top level of a script, start the event loop with asyncio.run(main()).",
                "To run many requests concurrently, gather them with asyncio.gather or a "
                "TaskGroup.",
            ),
            code=(
                "```python\nimport asyncio\n\nasync def main(urls):\n    async with "
                "asyncio.TaskGroup() as tg:\n        tasks = [tg.create_task(fetch(u)) for u in "
                "urls]\n    return [t.result() for t in tasks]\n\nasyncio.run(main(urls))\n```"
            ),
        ),
        Thread(
            "Virtual environment picks the wrong Python version",
            "I created a venv but python --version still shows 3.9 instead of 3.12. How do I "
            "make the venv use the right interpreter?",
            (
                "A venv always uses the interpreter that created it, so create it with the "
                "exact version you want, for example python3.12 -m venv .venv.",
                "Remember to activate it, or call .venv/bin/python directly.",
                "Running which python after activation shows which interpreter your shell "
                "actually picks up.",
                "Tools like pyenv or uv make it easy to install and pin several Python "
                "versions side by side.",
            ),
        ),
        Thread(
            "Writing pytest fixtures for a temporary directory",
            "How should I write pytest tests for a function that writes files? I don't want "
            "to leave junk on disk.",
            (
                "pytest ships a built-in tmp_path fixture that gives each test its own fresh "
                "directory.",
                "Pass tmp_path into your function and assert on the files it creates.",
                "For shared setup, write your own fixture that builds on tmp_path and yields "
                "the prepared directory.",
                "pytest cleans up old temporary directories automatically, keeping only the "
                "last few runs.",
            ),
            code=(
                "```python\ndef test_writes_report(tmp_path):\n    out = tmp_path / "
                '"report.txt"\n    write_report(out, rows=[1, 2, 3])\n    assert '
                'out.read_text().splitlines() == ["1", "2", "3"]\n```'
            ),
        ),
        Thread(
            "UnicodeDecodeError when reading a text file",
            "open('data.txt').read() fails with UnicodeDecodeError: 'utf-8' codec can't "
            "decode byte 0xe9. How do I read this file?",
            (
                "The file isn't UTF-8, and byte 0xe9 is é in Latin-1 or Windows-1252.",
                "Pass the real encoding explicitly, for example open(path, encoding='cp1252').",
                "If you don't know the encoding, the charset-normalizer package can guess it "
                "from the bytes.",
                "Always passing encoding= explicitly also makes your code behave the same on "
                "Windows and Linux.",
            ),
            tool=(
                "python",
                "from charset_normalizer import from_path\n"
                "print(from_path('data.txt').best().encoding)\n\ncp1252",
            ),
        ),
        Thread(
            "Dataclass vs NamedTuple for config objects",
            "Should I use a dataclass or a NamedTuple for configuration objects in my project?",
            (
                "A NamedTuple is immutable and behaves like a tuple, which is handy for "
                "unpacking but odd for configuration.",
                "A dataclass with frozen=True gives you immutability plus defaults, type hints "
                "and custom methods.",
                "If you need validation when loading from files or environment variables, "
                "pydantic models are worth a look.",
                "For most configuration objects, a frozen dataclass is the sweet spot.",
            ),
        ),
        Thread(
            "Using pdb breakpoints instead of print debugging",
            "I debug everything with print statements. How do I actually use pdb?",
            (
                "Put breakpoint() on the line where you want to stop, and Python drops you "
                "into the pdb prompt.",
                "From there, n runs the next line, s steps into a call, and p expression "
                "prints a value.",
                "Typing interact opens a full Python shell with the current local variables.",
                "Running pytest with --pdb opens the debugger right at the failing assertion.",
            ),
        ),
    ),
    followups=(
        (
            "Would type hints have caught this earlier?",
            (
                "Often, yes, because running mypy or pyright catches many wrong types before "
                "the code runs.",
                "They won't catch every logic error, but they make refactoring much safer.",
            ),
        ),
        (
            "How do I write a test so this bug doesn't come back?",
            (
                "Write a small pytest test that reproduces the failure first, then fix the "
                "code until it passes.",
                "Keeping that regression test in the suite protects you from the same bug later.",
            ),
        ),
        (
            "Is there a linter that would flag this?",
            (
                "Ruff is fast and bundles hundreds of rules, including most of flake8 and its "
                "plugins.",
                "Run it in pre-commit or in your editor so problems show up as you type.",
            ),
        ),
        (
            "How can I profile the script to find the slow part?",
            (
                "Run python -m cProfile -s cumtime script.py to see which functions take the "
                "most time.",
                "For a line-by-line view, py-spy can sample a running process without changing "
                "the code.",
            ),
        ),
        (
            "Does this behave differently in Python 3.12?",
            (
                "The core behavior is the same, although 3.12 has clearer error messages that "
                "often point at the exact expression.",
                "It's worth upgrading just for the improved tracebacks.",
            ),
        ),
        (
            "Should I catch the exception instead?",
            (
                "Only catch exceptions you can actually handle, and fix the underlying bug "
                "when it's a programming mistake.",
                "A bare except hides real errors, so always name the exception type.",
            ),
        ),
        (
            "How would I log this instead of printing?",
            (
                "Use the logging module with a logger per module, logging.getLogger(__name__).",
                "Configure handlers and levels once at program start, and use logger.debug "
                "for detailed output.",
            ),
        ),
        (
            "Can you explain the traceback format?",
            (
                "Read a traceback from the bottom up, since the last line names the exception "
                "and message.",
                "The frames above it show the call chain, with the most recent call last.",
            ),
        ),
    ),
    tips=(
        "Reproducing the bug in a tiny standalone script often reveals the cause immediately.",
        "Reading the full traceback, not just the last line, usually points straight to the "
        "problem.",
        "Small functions with clear inputs and outputs are much easier to test and debug.",
        "Version control lets you bisect to the exact commit that introduced a bug.",
        "Pinning dependencies in a lock file keeps environments reproducible across machines.",
        "The Python docs and the standard library are worth checking before adding a dependency.",
        "Type hints plus a checker like mypy catch a whole class of mistakes early.",
        "Writing the failing test first makes it obvious when the fix is complete.",
        "Rubber-duck debugging, explaining the code line by line, works surprisingly often.",
        "Keep functions free of hidden global state so their behavior is predictable.",
    ),
    contexts=(
        "I'm on Python 3.11 on a Mac.",
        "This is for a small Flask app at work.",
        "I'm still fairly new to Python, coming from JavaScript.",
        "The script runs nightly on an Ubuntu server.",
        "I'm using VS Code with the Python extension.",
        "It's part of a data pipeline that processes sales reports.",
    ),
    closers=(
        "If you paste the full traceback, I can point at the exact line.",
        "Share a minimal example if it still fails and we'll dig in.",
        "Let me know which Python version you're on if anything behaves differently.",
        "Happy debugging.",
    ),
)

GARDENING = Topic(
    key="gardening",
    threads=(
        Thread(
            "Monstera leaves turning yellow",
            "The lower leaves on my monstera are turning yellow one after another. What's "
            "wrong with it?",
            (
                "Yellowing lower leaves on a monstera most often point to overwatering and "
                "roots sitting in soggy soil.",
                "Let the top two inches of soil dry out before watering, and make sure the pot "
                "has drainage holes.",
                "Gently check the roots: healthy ones are firm and white, while rotten ones are "
                "brown and mushy.",
                "An occasional old leaf yellowing is normal, but several in a row is a "
                "warning sign.",
            ),
        ),
        Thread(
            "Fungus gnats in my houseplant soil",
            "Tiny black flies keep coming out of my houseplant pots. How do I get rid of "
            "fungus gnats?",
            (
                "Fungus gnats breed in constantly moist potting soil, so drying the top layer "
                "out breaks their life cycle.",
                "Yellow sticky traps catch the adults, while watering with BTI mosquito bits "
                "kills the larvae.",
                "Bottom watering keeps the surface drier, which makes the pots far less "
                "attractive to them.",
                "A thin layer of sand or grit on top of the soil also discourages egg laying.",
            ),
        ),
        Thread(
            "When to repot a fiddle leaf fig",
            "My fiddle leaf fig has roots coming out of the drainage holes. Is it time to "
            "repot, and when should I do it?",
            (
                "Roots escaping the drainage holes are a clear sign the fig is root-bound.",
                "Repot in spring or early summer, when the plant is actively growing and "
                "recovers fastest.",
                "Go up only one or two inches in pot diameter, because too much extra soil "
                "stays wet and invites root rot.",
                "Use a chunky, well-draining mix with bark and perlite.",
            ),
        ),
        Thread(
            "Tomato blossom end rot in raised beds",
            "My tomatoes in the raised bed have black, sunken spots on the bottom. Is this "
            "a disease?",
            (
                "Those dark patches are blossom end rot, a calcium problem rather than a disease.",
                "It's usually caused by uneven watering, which keeps the plant from moving "
                "calcium into the fruit even when the soil has plenty.",
                "Water deeply and consistently, and mulch the bed to keep the moisture level "
                "steady.",
                "Affected fruit won't recover, but new tomatoes should develop normally.",
            ),
        ),
        Thread(
            "Propagating pothos cuttings in water",
            "How do I propagate my pothos in water? I tried once and the cuttings just rotted.",
            (
                "Each cutting needs at least one node, the small bump where a leaf meets the "
                "stem, because roots grow from there.",
                "Remove any leaves that would sit underwater, since submerged leaves rot and "
                "foul the water.",
                "Change the water every few days and keep the jar in bright, indirect light.",
                "Once the roots are two or three inches long, pot the cuttings in soil and "
                "keep them slightly moist for a couple of weeks.",
            ),
        ),
        Thread(
            "Signs I'm overwatering my snake plant",
            "The leaves on my snake plant are getting soft and falling over. Am I overwatering it?",
            (
                "Soft, mushy or bending leaves are the classic sign of an overwatered snake plant.",
                "Snake plants store water in their leaves and only need watering every two to "
                "four weeks.",
                "Let the soil dry out completely, and repot into cactus mix if the base of the "
                "leaves smells sour.",
                "Terracotta pots help because they wick moisture away from the roots.",
            ),
        ),
        Thread(
            "Starting a pollinator garden in clay soil",
            "I want to start a pollinator garden but my yard is heavy clay. Which plants "
            "will actually survive?",
            (
                "Plenty of native perennials thrive in clay, including purple coneflower, "
                "black-eyed Susan, bee balm and New England aster.",
                "Rather than digging in sand, top-dress the bed with a few inches of compost "
                "every year.",
                "Plant in groups of three or more, because pollinators find larger drifts of "
                "one flower more easily.",
                "Aim for something blooming from early spring to late fall.",
            ),
        ),
        Thread(
            "Composting basics for a small backyard",
            "How do I start composting in a small backyard without it smelling bad?",
            (
                "Good compost balances green materials like vegetable scraps with brown "
                "materials like dry leaves and cardboard.",
                "A smelly pile is usually too wet or has too many greens, so add more browns "
                "and turn it.",
                "A closed bin or tumbler keeps things tidy in a small space.",
                "Skip meat, dairy and oily foods, which attract pests.",
            ),
        ),
        Thread(
            "Succulents stretching toward the window",
            "My succulents are getting tall and leggy and leaning toward the window. What "
            "does that mean?",
            (
                "That stretching is called etiolation, and it means the plants aren't getting "
                "enough light.",
                "Move them to the brightest window you have, or add a full-spectrum grow "
                "light for 12 to 14 hours a day.",
                "Stretched growth won't shrink back, but you can behead the rosettes and "
                "replant the tops.",
                "Increase the light gradually, because a sudden move to direct sun can scorch "
                "the leaves.",
            ),
        ),
        Thread(
            "Pruning hydrangeas: old wood or new wood?",
            "When should I prune my hydrangeas? Last year I cut them back and got no flowers "
            "at all.",
            (
                "It depends on the type, because bigleaf and oakleaf hydrangeas bloom on old "
                "wood while panicle and smooth hydrangeas bloom on new wood.",
                "If you cut an old-wood hydrangea in fall or spring, you remove next summer's "
                "flower buds.",
                "Prune old-wood types right after they finish flowering, and new-wood types in "
                "late winter.",
                "When in doubt, only remove dead stems and spent flower heads.",
            ),
        ),
        Thread(
            "Spider mites on my calathea",
            "I found fine webbing and speckled leaves on my calathea. Could it be spider mites?",
            (
                "Fine webbing plus pale speckling on the leaves is a textbook spider mite "
                "infestation.",
                "Isolate the plant and rinse the leaves, especially the undersides, in the shower.",
                "Follow up with insecticidal soap or neem oil every five to seven days for a "
                "few weeks.",
                "Spider mites love dry air, so raising the humidity helps prevent them from "
                "coming back.",
            ),
        ),
    ),
    followups=(
        (
            "Should I fertilize it right now?",
            (
                "Hold off on fertilizer until the plant recovers, because stressed roots "
                "can't use it well.",
                "During the growing season, a diluted balanced fertilizer once a month is plenty.",
            ),
        ),
        (
            "How do I tell if the soil is dry enough?",
            (
                "Push a finger two inches into the soil, and if it feels dry at that depth, "
                "it's time to water.",
                "A wooden chopstick works too: if it comes out clean, the soil is dry.",
            ),
        ),
        (
            "Would a grow light help?",
            (
                "Yes, a full-spectrum LED grow light makes a big difference in a dim room.",
                "Keep it about 12 inches above the plants and run it on a timer.",
            ),
        ),
        (
            "Is this safe for my cat?",
            (
                "Many common houseplants, including pothos, monstera and snake plants, are "
                "mildly toxic to cats if chewed.",
                "The ASPCA keeps a searchable list of toxic and non-toxic plants.",
            ),
        ),
        (
            "What potting mix would you use?",
            (
                "For most tropical houseplants, mix regular potting soil with perlite and "
                "orchid bark in roughly equal parts.",
                "The bark keeps air around the roots and prevents compaction.",
            ),
        ),
        (
            "Could the pot be part of the problem?",
            (
                "A pot without drainage holes is one of the most common causes of root rot.",
                "A decorative cachepot is fine if the plant sits in a nursery pot inside it.",
            ),
        ),
        (
            "How much humidity do they like?",
            (
                "Most tropical plants prefer 50 to 60 percent humidity.",
                "Grouping plants together or running a small humidifier works better than misting.",
            ),
        ),
        (
            "When will I see new growth?",
            (
                "With better conditions, expect new leaves within four to eight weeks during "
                "spring and summer.",
                "Growth slows a lot in winter, so don't worry if nothing happens until March.",
            ),
        ),
    ),
    tips=(
        "Most houseplant problems trace back to watering, light or drainage.",
        "Check plants weekly, because catching pests early makes them much easier to treat.",
        "Rotating pots a quarter turn every week keeps growth even.",
        "Native plants generally need less water and fertilizer once established.",
        "Mulch conserves soil moisture and keeps roots at a steadier temperature.",
        "Watering in the morning lets foliage dry before evening and reduces fungal disease.",
        "Plants adjust slowly, so change one thing at a time and give it a few weeks.",
        "Clean pruners with rubbing alcohol between plants to avoid spreading disease.",
        "Healthy soil with plenty of organic matter prevents many problems before they start.",
        "A cheap moisture meter can help, but your finger is often just as reliable.",
    ),
    contexts=(
        "It sits about six feet from a north-facing window.",
        "I water everything once a week on Sundays.",
        "I'm in USDA zone 7a.",
        "My apartment gets pretty dry in winter with the heating on.",
        "I bought it from a big-box store about three months ago.",
        "The garden gets full sun in the afternoon.",
    ),
    closers=(
        "Send a photo if it doesn't improve and I can take another look.",
        "Good luck, and give it a few weeks to settle.",
        "Let me know what the roots look like once you check.",
        "Happy gardening.",
    ),
)

MARATHON = Topic(
    key="marathon",
    threads=(
        Thread(
            "First marathon: 18-week training plan",
            "I'm signed up for my first marathon in October and currently run about 20 miles "
            "a week. What should an 18-week plan look like?",
            (
                "Starting from 20 miles a week, an 18-week plan can build safely to a peak of "
                "around 40 to 45 miles.",
                "Most of your running should be easy, with one long run each weekend growing "
                "by a mile or two most weeks.",
                "Every third or fourth week, cut the volume by about 20 percent so your body "
                "can absorb the training.",
                "Your longest run, 18 to 20 miles, should come about three to four weeks "
                "before race day.",
            ),
        ),
        Thread(
            "Fueling with gels during a marathon",
            "How many energy gels should I take during a marathon, and when?",
            (
                "Most runners do well with 30 to 60 grams of carbohydrate per hour, which is "
                "one or two standard gels.",
                "Take the first gel around 45 minutes in, before you feel you need it, and "
                "then every 30 to 40 minutes.",
                "Practice your exact race fueling on long runs so your stomach gets used to it.",
                "Wash each gel down with water rather than sports drink to avoid a sugar overload.",
            ),
        ),
        Thread(
            "Shin splints after increasing mileage",
            "I bumped my mileage from 25 to 35 miles a week and now my shins ache. Are these "
            "shin splints?",
            (
                "Diffuse aching along the inner edge of the shin after a mileage jump sounds "
                "like medial tibial stress syndrome, commonly called shin splints.",
                "A ten-mile jump in one week is a lot, so drop back to your previous volume "
                "until the pain settles.",
                "Pain at a single point that hurts when you press on it could be a stress "
                "fracture and deserves a doctor's visit.",
                "Calf raises and gradual increases of about ten percent a week help prevent it "
                "from coming back.",
            ),
        ),
        Thread(
            "How slow should my easy runs be?",
            "Everyone says to run easy runs slowly, but how slow is slow enough?",
            (
                "Easy runs should feel conversational, meaning you can speak in full sentences.",
                "For most runners that's roughly 60 to 90 seconds per mile slower than "
                "marathon pace.",
                "Heart rate is another guide, with easy running usually below about 75 percent "
                "of your maximum.",
                "Running easy days truly easy is what lets you run the hard workouts hard.",
            ),
        ),
        Thread(
            "Tapering for the last three weeks before a marathon",
            "My marathon is in three weeks. How should I taper without losing fitness?",
            (
                "A typical taper cuts weekly mileage by about 20 to 25 percent, then 40 "
                "percent, then 60 percent in race week.",
                "Keep some short marathon-pace segments so your legs remember the rhythm.",
                "You won't lose meaningful fitness in three weeks, and the rest lets your body "
                "repair.",
                "Feeling sluggish or restless during the taper is normal and often called "
                "taper madness.",
            ),
        ),
        Thread(
            "Breaking 3:30 in the marathon",
            "My marathon PR is 3:41 and I want to break 3:30 next spring. What workouts "
            "should I focus on?",
            (
                "A 3:30 marathon means averaging about 8:00 per mile, so your training needs "
                "plenty of running at and around that pace.",
                "Long runs with the last 6 to 10 miles at goal pace are the single most "
                "specific workout.",
                "Add a weekly tempo run or cruise intervals at about half marathon pace to "
                "raise your threshold.",
                "A recent half marathon around 1:40 would suggest the goal is realistic.",
            ),
        ),
        Thread(
            "Hitting the wall on long runs",
            "I keep hitting the wall around mile 16 on my long runs. Is it pacing or fueling?",
            (
                "Usually it's both, because starting too fast burns glycogen that you need later.",
                "Run the first half of your long runs a bit slower than feels necessary.",
                "Take in carbohydrates from early in the run, not only once you feel tired.",
                "A carb-rich dinner the night before and a solid breakfast make a big "
                "difference too.",
            ),
        ),
        Thread(
            "Choosing marathon shoes with carbon plates",
            "Are carbon-plated super shoes worth it for someone running a 4-hour marathon?",
            (
                "Studies suggest super shoes improve running economy by a few percent, and "
                "recreational runners seem to benefit too.",
                "The soft, tall foam can feel unstable, so do a few long runs in them before "
                "race day.",
                "They wear out faster than daily trainers, often after 200 to 300 miles.",
                "A well-fitting shoe you trust is worth more than any technology.",
            ),
        ),
        Thread(
            "Strength training for runners twice a week",
            "What strength training should I do as a marathon runner, and how often?",
            (
                "Two short sessions a week, about 30 minutes each, are enough for most runners.",
                "Focus on single-leg exercises like split squats and step-ups, plus calf "
                "raises and hip work.",
                "Heavy, low-rep lifting improves running economy without adding much bulk.",
                "Schedule strength work on hard days, so your easy days stay truly easy.",
            ),
        ),
        Thread(
            "Running in summer heat and humidity",
            "Summer training in humid weather is wrecking my paces. How should I adjust?",
            (
                "Heat and humidity raise your heart rate, so running by effort rather than "
                "pace is the smart move.",
                "Expect to run 20 to 60 seconds per mile slower when the dew point is high.",
                "Run early in the morning, carry fluids and add electrolytes on runs longer "
                "than an hour.",
                "The good news is that heat training brings adaptations that pay off when "
                "fall races cool down.",
            ),
        ),
        Thread(
            "Recovering after marathon race day",
            "I just finished my marathon! How long should I rest before running again?",
            (
                "Congratulations, that's a huge accomplishment.",
                "Take at least a few days completely off, then do easy walks or cross-training "
                "for the rest of the first week.",
                "A common rule is one easy day for every mile raced before doing any hard "
                "workouts.",
                "Sleep, protein and plenty of fluids do most of the repair work.",
            ),
        ),
    ),
    followups=(
        (
            "How many miles should my longest run be?",
            (
                "For most first-time marathoners, a longest run of 18 to 20 miles is enough.",
                "Going beyond about three hours adds more fatigue than fitness.",
            ),
        ),
        (
            "Should I run with a heart rate monitor?",
            (
                "A chest strap is more accurate than a wrist sensor, especially during intervals.",
                "Heart rate is most useful for keeping easy runs easy.",
            ),
        ),
        (
            "What should I eat the morning of a long run?",
            (
                "Eat something familiar and carb-heavy two to three hours before, like oatmeal "
                "with a banana or a bagel with honey.",
                "Avoid high-fiber and high-fat foods that can upset your stomach.",
            ),
        ),
        (
            "Is it okay to run two days in a row?",
            (
                "Yes, most training plans include back-to-back days, as long as at least one "
                "of them is easy.",
                "The key is avoiding two hard sessions in a row.",
            ),
        ),
        (
            "How do I pace the first few miles on race day?",
            (
                "Start 10 to 15 seconds per mile slower than goal pace for the first two or "
                "three miles.",
                "Crowds and adrenaline make fast starts very tempting, so watch your pace closely.",
            ),
        ),
        (
            "Should I foam roll or stretch after runs?",
            (
                "Foam rolling can reduce soreness, but it's not essential.",
                "Gentle mobility work after runs is helpful, while deep static stretching is "
                "better saved for a separate session.",
            ),
        ),
        (
            "What if I miss a week of training?",
            (
                "Missing a week won't ruin your race.",
                "Return at slightly lower volume and don't try to make up the missed miles.",
            ),
        ),
        (
            "How much water should I drink during the race?",
            (
                "Drink to thirst, which for most runners means a few sips at every aid station.",
                "Overdrinking can be dangerous, so don't force fluids if you're not thirsty.",
            ),
        ),
    ),
    tips=(
        "Consistency over months matters more than any single workout.",
        "Most of your weekly mileage should be run at an easy, conversational pace.",
        "Increase mileage gradually, roughly ten percent per week at most.",
        "Sleep is the most underrated performance enhancer for endurance athletes.",
        "Nothing new on race day: practice your shoes, clothes and fueling in training.",
        "A cutback week every three or four weeks helps you absorb the training.",
        "Listen to niggles early, because a few days off now can save weeks later.",
        "Rotating two pairs of running shoes can spread the load on your legs.",
        "Writing down how each run felt helps you spot fatigue before it turns into injury.",
        "Strides after easy runs keep your legs quick without adding much stress.",
    ),
    contexts=(
        "I'm 38 and started running two years ago.",
        "I usually run five days a week.",
        "I train with a local running club on weekends.",
        "I usually run before work, around 6 a.m.",
        "I've done a few half marathons, best time 1:52.",
        "I'm following a Hal Higdon plan loosely.",
    ),
    closers=(
        "Good luck with training, and enjoy the process.",
        "Tell me your goal pace and I can suggest specific workouts.",
        "If the pain persists, get it checked by a physio who works with runners.",
        "Happy running.",
    ),
)

JAPAN = Topic(
    key="japan-travel",
    threads=(
        Thread(
            "Two-week Japan itinerary: Tokyo, Kyoto and Osaka",
            "We're planning two weeks in Japan in November, our first trip. How should we "
            "split the time between Tokyo, Kyoto and Osaka?",
            (
                "For a first trip, six nights in Tokyo, five in Kyoto and three in Osaka is a "
                "comfortable split.",
                "Kyoto deserves the extra nights in November, when the autumn leaves peak "
                "around the temples.",
                "Use Kyoto as a base for day trips to Nara and its deer park, and Osaka for "
                "Himeji Castle.",
                "Fly into Tokyo and out of Osaka's Kansai airport so you never have to backtrack.",
            ),
        ),
        Thread(
            "Is the JR Pass still worth it after the price increase?",
            "Is the Japan Rail Pass still worth buying after the big price increase? We'll "
            "do Tokyo to Kyoto and back, plus a trip to Hiroshima.",
            (
                "Since the October 2023 price increase, the 7-day pass costs 50,000 yen, which "
                "is much harder to justify.",
                "A Tokyo, Kyoto, Hiroshima and back to Tokyo route costs roughly 45,000 yen in "
                "individual shinkansen tickets.",
                "So for that route, buying separate tickets is slightly cheaper and gives you "
                "access to the faster Nozomi trains.",
                "Regional passes, like the JR West Kansai-Hiroshima pass, are often better "
                "value now.",
            ),
            link=(
                "You can compare fares with the official calculator at "
                "https://japanrailpass.net/en/ and check exact shinkansen prices on "
                "https://www.jorudan.co.jp/english/."
            ),
            tool=(
                "web",
                'Search results for "JR Pass price 2025 7 day ordinary":\n'
                "【1†Japan Rail Pass - Prices†japanrailpass.net】 7 days: ¥50,000; 14 days: "
                "¥80,000; 21 days: ¥100,000 (Ordinary Car, adult).\n"
                "【2†Tokyo to Kyoto Shinkansen fare†japan-guide.com】 Nozomi reserved seat: "
                "about ¥14,170 one way.",
            ),
        ),
        Thread(
            "Ryokan with a private onsen in Hakone",
            "We'd like to stay one night in a ryokan with a private onsen in Hakone for our "
            "anniversary. Any tips for booking?",
            (
                "Look for rooms listed with a private open-air bath, called rotenburo, which "
                "many Hakone ryokan offer.",
                "Popular ryokan book up three to six months ahead, especially for weekends and "
                "autumn.",
                "Most stays include a multi-course kaiseki dinner and a Japanese breakfast, so "
                "the price covers two meals.",
                "Let the ryokan know about dietary restrictions and your anniversary when you "
                "book.",
            ),
            link=(
                "The [Hakone Navi guide](https://www.hakonenavi.jp/international/en/) lists "
                "areas and the Hakone Freepass for the loop by train, cable car and boat."
            ),
        ),
        Thread(
            "Visiting Kyoto temples without the crowds",
            "Kyoto temples look incredibly crowded in photos. How can we see Fushimi Inari "
            "and Kiyomizu-dera without the crowds?",
            (
                "Arrive at Fushimi Inari by 7 a.m., or hike above the Yotsutsuji intersection, "
                "where most visitors turn back.",
                "Kiyomizu-dera opens at 6 a.m., and the streets leading up to it are nearly "
                "empty before 8.",
                "Some temples, like Tofuku-ji and Eikan-do, are quieter on weekday mornings.",
                "Lesser-known places such as Honen-in and the Ohara valley are beautiful and calm.",
            ),
        ),
        Thread(
            "Getting a Suica card on an iPhone",
            "Can I add a Suica card to my iPhone before the trip, and does it work everywhere?",
            (
                "Yes, you can create a Suica card directly in the Apple Wallet app and top it "
                "up with most Visa, Mastercard or Amex cards.",
                "Set it as an Express Transit card so you can tap through gates without "
                "unlocking your phone.",
                "It works on trains, subways and buses in all major cities, plus convenience "
                "stores and vending machines.",
                "Shinkansen tickets are separate, though you can link them to Suica through "
                "the Eki-net or smartEX services.",
            ),
        ),
        Thread(
            "Day trip from Tokyo to Nikko",
            "Is a day trip from Tokyo to Nikko worth it, and how do we get there?",
            (
                "Nikko makes an excellent day trip, with the ornate Toshogu shrine, waterfalls "
                "and mountain scenery.",
                "The Tobu Limited Express from Asakusa takes about two hours.",
                "The Nikko Pass World Heritage Area covers the round trip from Asakusa and "
                "local buses.",
                "Start early, since buses to Lake Chuzenji and Kegon Falls get crowded by "
                "mid-morning.",
            ),
        ),
        Thread(
            "Cherry blossom timing for early April in Japan",
            "We're visiting Japan from April 1 to 10. Will we catch the cherry blossoms?",
            (
                "Early April is usually peak season in Tokyo and Kyoto, so your chances are good.",
                "The exact timing shifts by a week or so each year, and forecasts are "
                "published from late February.",
                "If Tokyo is past peak, head north or into the mountains, where blossoms come "
                "later.",
                "Popular spots like the Philosopher's Path get busy, so go early in the morning.",
            ),
        ),
        Thread(
            "Budget for ten days in Japan",
            "What's a realistic daily budget for ten days in Japan for two people staying in "
            "mid-range hotels?",
            (
                "A mid-range couple typically spends 25,000 to 40,000 yen a day, not counting "
                "flights.",
                "Business hotels cost about 15,000 to 25,000 yen a night for a double room in "
                "big cities.",
                "Food can be very affordable, with ramen, set lunches and convenience store "
                "breakfasts keeping costs down.",
                "Intercity train travel is often the largest single expense after hotels.",
            ),
            tool=(
                "web",
                'Search results for "USD JPY exchange rate today":\n'
                "【1†USD to JPY†xe.com】 1 USD = 148.2 JPY",
            ),
            link=(
                "At today's rate of about 148 yen to the dollar, that's roughly 170 to 270 "
                "dollars a day; https://www.xe.com/ has the current rate."
            ),
        ),
        Thread(
            "Eating vegetarian in Japan",
            "I'm vegetarian. How hard is it to eat out in Japan?",
            (
                "It takes some planning, because dashi fish stock appears in many dishes that "
                "look vegetarian.",
                "Shojin ryori, the Buddhist temple cuisine, is fully vegetarian and a "
                "highlight in Kyoto.",
                "Carry a card in Japanese explaining what you don't eat, including fish broth.",
                "Convenience stores sell onigiri with fillings like pickled plum or seaweed "
                "that are safe options.",
            ),
        ),
        Thread(
            "Hiking the Kumano Kodo in three days",
            "We'd like to hike the Kumano Kodo Nakahechi route in three days. How should we "
            "plan it?",
            (
                "The classic three-day version runs from Takijiri-oji to Kumano Hongu Taisha, "
                "staying in small guesthouses along the trail.",
                "Accommodation is limited, so book as early as possible, ideally through the "
                "Tanabe City tourism bureau.",
                "Luggage transfer services can carry your bags between inns.",
                "Finish with a soak at Yunomine Onsen, one of the oldest hot springs in Japan.",
            ),
            link=(
                "The official planning site, https://www.kumano-travel.com/en, handles "
                "bookings for many of the inns."
            ),
        ),
        Thread(
            "Luggage forwarding with takkyubin",
            "How does luggage forwarding work in Japan? We don't want to drag suitcases onto "
            "the shinkansen.",
            (
                "Takkyubin services like Yamato Transport deliver suitcases between hotels, "
                "usually the next day.",
                "Ask the front desk to arrange it, and it costs around 2,000 to 3,000 yen per bag.",
                "Pack an overnight bag for the day the suitcase is in transit.",
                "Large bags on the Tokaido shinkansen also need a seat reservation with "
                "oversized baggage space.",
            ),
            link=(
                "Yamato's English page, https://www.global-yamato.com/en/hands-free-travel/, "
                "explains the airport and hotel options."
            ),
        ),
    ),
    followups=(
        (
            "Do we need cash or are cards accepted everywhere?",
            (
                "Cards are widely accepted in cities now, but small restaurants, temples and "
                "rural shops often take cash only.",
                "Carrying 10,000 to 20,000 yen is sensible, and 7-Eleven ATMs accept foreign "
                "cards.",
            ),
        ),
        (
            "Should we get a pocket wifi or an eSIM?",
            (
                "An eSIM is the easiest option if your phone supports it, and you can install "
                "it before you fly.",
                "Pocket wifi makes sense for a group sharing one connection.",
            ),
        ),
        (
            "Any etiquette we should know about?",
            (
                "Don't tip, keep your voice low on trains, and avoid eating while walking in "
                "busy streets.",
                "Take off your shoes when you see a raised entryway or slippers set out.",
            ),
        ),
        (
            "Is it easy to get around without speaking Japanese?",
            (
                "Yes, station signs in cities are in English and staff are used to tourists.",
                "A translation app with camera mode helps with menus and signs in rural areas.",
            ),
        ),
        (
            "How far in advance should we book hotels?",
            (
                "For cherry blossom and autumn leaf seasons, book three to six months ahead.",
                "Outside peak periods, a month or two is usually enough.",
            ),
        ),
        (
            "Would you add Kanazawa to the trip?",
            (
                "Kanazawa is a great addition, with Kenroku-en garden, the samurai district "
                "and excellent seafood.",
                "It's two and a half hours from Tokyo by the Hokuriku shinkansen and fits "
                "nicely between Tokyo and Kyoto.",
            ),
        ),
        (
            "What should we pack for the weather?",
            (
                "Layers work best, since mornings can be cool and temples involve a lot of "
                "walking.",
                "Comfortable slip-on shoes are handy because you remove them often.",
            ),
        ),
        (
            "Can we reserve shinkansen seats online?",
            (
                "Yes, the smartEX app sells Tokaido and Sanyo shinkansen tickets to foreign "
                "visitors.",
                "Reserved seats are worth it during holidays and on Friday evenings.",
            ),
        ),
    ),
    tips=(
        "Japan's trains are famously punctual, so plan connections with confidence.",
        "Convenience stores are a lifesaver for cheap breakfasts, ATMs and snacks.",
        "Staying near a major station saves a lot of time on day trips.",
        "Many museums and gardens close on Mondays, so check opening days.",
        "Booking popular restaurants ahead is wise, especially in Kyoto.",
        "Trash cans are rare in public, so carry a small bag for your rubbish.",
        "Google Maps handles train routes in Japan very well, including platform numbers.",
        "Leaving a few unplanned days gives you room to follow recommendations from locals.",
        "Coin lockers at stations let you explore without carrying bags.",
        "Traveling in shoulder seasons like late May or early December means fewer crowds.",
    ),
    contexts=(
        "It's our first time in Asia.",
        "We're traveling with two kids, ages 8 and 11.",
        "We're flying into Haneda in the evening.",
        "I can read a little hiragana but that's it.",
        "We prefer walking and trains over organized tours.",
        "Our budget is moderate, not luxury.",
    ),
    closers=(
        "Have a wonderful trip!",
        "Tell me your travel dates and I can refine the plan.",
        "Happy to draft a day-by-day itinerary if you'd like.",
        "Enjoy Japan, it's a fantastic place to explore.",
    ),
)

TOPICS = (SOURDOUGH, FINANCE, PYTHON, GARDENING, MARATHON, JAPAN)

OPENERS = (
    "Good question.",
    "Happy to help with this.",
    "Let's sort it out.",
    "This comes up a lot.",
    "Sure, let's break it down.",
    "Great that you're asking before it becomes a bigger problem.",
    "Here's how I'd think about it.",
)
FOLLOW_OPENERS = (
    "Good follow-up.",
    "Yes, that's closely related.",
    "That's a common next question.",
    "Right.",
    "Sure.",
)
QUESTION_PREFIXES = ("", "", "", "Hi! ", "Quick question: ", "Hey, ", "Okay, so ")
QUESTION_SUFFIXES = ("", "", "", " Thanks!", " Any advice?", " What would you do?")
FOLLOW_PREFIXES = (
    "",
    "",
    "",
    "Thanks, that helps. ",
    "Makes sense. ",
    "Got it. ",
    "One more thing: ",
)
#: After these prefixes the question goes on mid-sentence, so its first word loses its capital.
LOWERCASING_PREFIXES = frozenset({"Hey, ", "Okay, so "})
LOWERCASE_AFTER_PREFIX = frozenset(
    "My What How Is Should Can Why When Do Does Any We Our Which Where The Everyone".split()
)

#: Abandoned drafts, each with the user turn that sometimes follows it on the dead branch:
#: off-topic on purpose, and always containing "ignore this draft".
ABANDONED = (
    (
        "Sorry, ignore this draft. Lighthouses on the Maine coast were mostly automated by the "
        "1990s, and many keepers' houses are now museums.",
        "ignore this draft, that's not what I asked. But how old is the oldest lighthouse?",
    ),
    (
        "(ignore this draft) A cable knit pattern needs a cable needle and a chart that marks "
        "which stitches cross in front and which behind.",
        "Hm, ignore this draft. Anyway, what yarn weight is best for cables?",
    ),
    (
        "Please ignore this draft: a ukulele in standard tuning is G-C-E-A, and a clip-on tuner "
        "makes it easy.",
        "ignore this draft, I meant something else. Is a concert ukulele better for beginners?",
    ),
    (
        "ignore this draft. Replacing the chain on a fixed-gear bike means setting chain tension "
        "by sliding the rear wheel in the dropouts.",
        "Wait, ignore this draft. How tight should a bike chain be?",
    ),
    (
        "Draft, ignore this draft. The Caro-Kann is a solid chess opening for players who like "
        "closed, strategic positions.",
        "ignore this draft, wrong chat. What's the main line of the Caro-Kann?",
    ),
    (
        "ignore this draft, wrong conversation. Watercolor skies are easiest wet-on-wet, "
        "dropping pigment into a damp sheet and tilting the paper.",
        "Okay, ignore this draft. Which watercolor paper weight should I buy?",
    ),
    (
        "Oops, ignore this draft. Beekeepers check a hive every seven to ten days in spring to "
        "look for queen cells.",
        "ignore this draft, but how many frames does a beehive hold?",
    ),
)


def _new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _join(sentences: list[str]) -> str:
    return " ".join(sentences)


class Builder:
    """Draws one conversation at a time from the shared ``random.Random``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # -- text -----------------------------------------------------------------------------

    def _ask(
        self,
        question: str,
        prefixes: tuple[str, ...],
        suffixes: tuple[str, ...],
        context: str | None,
    ) -> str:
        prefix = self.rng.choice(prefixes)
        first, _, rest = question.partition(" ")
        if prefix in LOWERCASING_PREFIXES and first.split("'")[0] in LOWERCASE_AFTER_PREFIX:
            question = f"{first.lower()} {rest}"
        text = prefix + question
        if context:
            text = f"{text} {context}"
        return text + self.rng.choice(suffixes)

    def first_question(self, topic: Topic, thread: Thread) -> str:
        context = self.rng.choice(topic.contexts) if self.rng.random() < 0.55 else None
        return self._ask(thread.question, QUESTION_PREFIXES, QUESTION_SUFFIXES, context)

    def follow_question(self, question: str) -> str:
        return self._ask(question, FOLLOW_PREFIXES, ("",), None)

    def first_answer(self, topic: Topic, thread: Thread, tips: list[str]) -> str:
        """3-6 sentences: [opener] answer [link] tips [closer], and the code block if any."""
        rng = self.rng
        body = list(thread.answer[:2]) + [s for s in thread.answer[2:] if rng.random() < 0.7]
        body += [thread.link] if thread.link else []
        wanted = max(rng.choice((1, 1, 2)), 3 - len(body))
        extra = [tips.pop() for _ in range(min(wanted, 6 - len(body)))]
        room = 6 - len(body) - len(extra)
        head = [rng.choice(OPENERS)] if room > 0 and rng.random() < 0.45 else []
        room -= len(head)
        closer = [rng.choice(topic.closers)] if room > 0 and rng.random() < 0.35 else []
        paragraphs = [_join(head + body)]
        if thread.code:
            paragraphs.append(thread.code)
        paragraphs.append(_join(extra + closer))
        return "\n\n".join(paragraphs)

    def follow_answer(self, topic: Topic, answer: tuple[str, ...], tips: list[str]) -> str:
        """3-6 sentences: [opener] the follow-up's answer, one or two tips, [closer]."""
        rng = self.rng
        body = list(answer)
        wanted = max(2 if rng.random() < 0.3 else 1, 3 - len(body))
        body += [tips.pop() for _ in range(min(wanted, 6 - len(body)))]
        room = 6 - len(body)
        head = [rng.choice(FOLLOW_OPENERS)] if room > 0 and rng.random() < 0.35 else []
        room -= len(head)
        closer = [rng.choice(topic.closers)] if room > 0 and rng.random() < 0.2 else []
        return _join(head + body + closer)

    # -- tree -----------------------------------------------------------------------------

    def conversation(
        self, topic: Topic, thread: Thread, start: float, branched: bool
    ) -> dict[str, Any]:
        rng = self.rng
        conv_id = _new_id(rng)
        mapping: dict[str, dict[str, Any]] = {}
        clock = [start]

        def node(
            parent: str | None,
            role: str | None,
            text: str | None,
            *,
            name: str | None = None,
            gap: tuple[float, float] = (0.5, 2.0),
            hidden: bool = False,
            model: str | None = None,
        ) -> str:
            node_id = _new_id(rng)
            message = None
            if role is not None:
                clock[0] += rng.uniform(*gap)
                metadata: dict[str, Any] = {}
                if hidden:
                    metadata["is_visually_hidden_from_conversation"] = True
                if model:
                    metadata["model_slug"] = model
                message = {
                    "id": node_id,
                    "author": {"role": role, "name": name, "metadata": {}},
                    "create_time": round(clock[0], 6) if role != "system" else None,
                    "update_time": None,
                    "content": {"content_type": "text", "parts": [text or ""]},
                    "status": "finished_successfully",
                    "end_turn": True if role == "assistant" else None,
                    "weight": 0.0 if hidden else 1.0,
                    "metadata": metadata,
                    "recipient": "all",
                }
            mapping[node_id] = {"id": node_id, "message": message, "parent": parent, "children": []}
            if parent is not None:
                mapping[parent]["children"].append(node_id)
            return node_id

        model = rng.choice(MODELS)
        tips = rng.sample(topic.tips, len(topic.tips))
        followups = rng.sample(topic.followups, len(topic.followups))
        exchanges = rng.choices((1, 2, 3), weights=(3, 5, 3))[0]
        branch_at = None
        if branched:
            # The regenerated answer hangs off a user message; after a tool call the answer's
            # parent is the tool message, so branch at a later turn there.
            if thread.tool:
                exchanges = max(exchanges, 2)
            branch_at = rng.randrange(1 if thread.tool else 0, exchanges)

        root = node(None, None, None)
        current = node(root, "system", "", hidden=True)
        for turn in range(exchanges):
            if turn == 0:
                question = self.first_question(topic, thread)
            else:
                question = self.follow_question(followups[turn - 1][0])
            gap = (1.0, 5.0) if turn == 0 else (40.0, 900.0)
            user = node(current, "user", question, gap=gap)
            parent = user
            if turn == 0 and thread.tool:
                tool_name, output = thread.tool
                parent = node(user, "tool", output, name=tool_name, gap=(2.0, 9.0))
            if turn == 0:
                answer = self.first_answer(topic, thread, tips)
            else:
                answer = self.follow_answer(topic, followups[turn - 1][1], tips)
            if branch_at == turn:
                # A regenerated answer: the user message gets two assistant children, in
                # creation order; the active one is the first or the second.
                draft_text, draft_reply = rng.choice(ABANDONED)
                active_first = rng.random() < 0.35
                if active_first:
                    current = node(parent, "assistant", answer, gap=(4.0, 40.0), model=model)
                draft = node(parent, "assistant", draft_text, gap=(20.0, 120.0), model=model)
                if rng.random() < 0.4:
                    node(draft, "user", draft_reply, gap=(15.0, 90.0))
                if not active_first:
                    current = node(parent, "assistant", answer, gap=(10.0, 120.0), model=model)
            else:
                current = node(parent, "assistant", answer, gap=(4.0, 40.0), model=model)

        last_time = max(
            m["message"]["create_time"]
            for m in mapping.values()
            if m["message"] and m["message"]["create_time"] is not None
        )
        return {
            "title": thread.title,
            "create_time": round(start, 6),
            "update_time": round(last_time + rng.uniform(0.5, 3.0), 6),
            "mapping": mapping,
            "moderation_results": [],
            "current_node": current,
            "plugin_ids": None,
            "conversation_id": conv_id,
            "conversation_template_id": None,
            "gizmo_id": None,
            "is_archived": False,
            "safe_urls": [],
            "default_model_slug": model,
            "id": conv_id,
        }


def build(seed: int = SEED) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The export (newest conversation first, like ChatGPT's) and the id -> topic labels."""
    rng = random.Random(seed)
    builder = Builder(rng)
    plan = [(topic, thread) for topic in TOPICS for thread in topic.threads]
    rng.shuffle(plan)
    starts = sorted(rng.uniform(PERIOD_START, PERIOD_END) for _ in plan)
    branched = set(rng.sample(range(len(plan)), round(len(plan) * BRANCHED_SHARE)))
    conversations = []
    labels = {}
    for index, ((topic, thread), start) in enumerate(zip(plan, starts, strict=True)):
        conv = builder.conversation(topic, thread, start, index in branched)
        conversations.append(conv)
        labels[conv["id"]] = topic.key
    conversations.sort(key=lambda c: c["create_time"], reverse=True)
    return conversations, dict(sorted(labels.items()))


def dumps_export(conversations: list[dict[str, Any]]) -> str:
    """Compact JSON, one conversation per line (small, and diffs stay readable)."""
    lines = [json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in conversations]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def write(conversations: list[dict[str, Any]], labels: dict[str, str],
          export_path: Path = EXPORT_PATH, labels_path: Path = LABELS_PATH) -> None:
    """Write a sample's export and labels (the Korean generator's too)."""
    export_path.write_text(dumps_export(conversations), encoding="utf-8")
    labels_path.write_text(json.dumps(labels, indent=1) + "\n", encoding="utf-8")
    size = export_path.stat().st_size
    print(f"wrote {export_path} ({len(conversations)} conversations, {size / 1024:.0f} KiB)")
    print(f"wrote {labels_path}")


def main() -> None:
    write(*build())


if __name__ == "__main__":
    main()
