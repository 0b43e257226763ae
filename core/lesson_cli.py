"""``odeprop lessons`` and ``odeprop lesson NAME [--check] [--step K]``: the shipped lessons, one
lesson's steps, and the headless walk that runs every step and tests its check."""

from __future__ import annotations

import sys
import time

from .lesson import lesson_names, load_lesson
from .lesson_checks import CHECKS, evaluate, walk_step


def add_parsers(sub) -> None:
    """The two subcommands, on ``odeprop``'s subparsers."""
    lessons = sub.add_parser("lessons", help="list the shipped lessons (and the check kinds)")
    lessons.add_argument("--checks", action="store_true",
                         help="list the kinds of check a lesson step can make")
    lesson = sub.add_parser("lesson", help="show a lesson's steps, or walk them headless")
    lesson.add_argument("name", help="a shipped lesson (see `odeprop lessons`) or a lesson file")
    lesson.add_argument("--check", action="store_true",
                        help="run every step headless and test its check (exit 1 if one fails)")
    lesson.add_argument("--step", type=int, default=None, metavar="K",
                        help="only step K (1 is the first)")


def list_lessons(args) -> int:
    if args.checks:
        for kind in CHECKS.values():
            print(f"{kind.name:30s} {kind.summary}")
        return 0
    for name in lesson_names():
        lesson = load_lesson(name)
        print(f"  {name:24s} {lesson.title} ({len(lesson.steps)} steps)")
    return 0


def show_or_check(args) -> int:
    """Print the steps, or walk them (``--check``): one line per step, exit 1 if a check
    fails. Bad input raises ``ValueError`` (one line, exit 2, in the caller)."""
    lesson = load_lesson(args.name)
    count = len(lesson.steps)
    if args.step is not None and not 1 <= args.step <= count:
        raise ValueError(f"--step {args.step}: this lesson has steps 1 to {count}")
    chosen = range(count) if args.step is None else [args.step - 1]
    if not args.check:
        print(f"{lesson.title}\n\n{lesson.summary.strip()}\n")
        for i in chosen:
            step = lesson.steps[i]
            print(f"{i + 1}. {step.title}\n   {step.text.strip()}")
            if step.question:
                print(f"   Q: {step.question}\n   A: {step.answer}")
        return 0
    failed = 0
    for i in chosen:
        step = lesson.steps[i]
        began = time.monotonic()
        outcome = walk_step(lesson, i)
        spent = time.monotonic() - began
        if step.check is None:
            print(f"step {i + 1}/{count}  ran   {step.title} (no check; {spent:.1f} s)")
            continue
        result = evaluate(step.check, outcome)
        failed += not result.passed
        print(f"step {i + 1}/{count}  {'ok  ' if result.passed else 'FAIL'}  {step.title}: "
              f"{step.check.kind}: {result.detail} ({spent:.1f} s)", flush=True)
    if failed:
        print(f"odeprop: {failed} of {len(chosen)} step checks failed", file=sys.stderr)
    return 1 if failed else 0
