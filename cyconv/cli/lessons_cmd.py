"""``cyconv lessons list|check`` and ``cyconv class-report FOLDER``: the classroom on the
command line (lesson packs, and merging the reports a class hands in)."""
from .. import lessons
from ._common import Parser

__all__ = ["add_parsers"]


def _count(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def cmd_lessons_list(args, session):
    for lesson in lessons.builtin_lessons():
        title = lesson.title_in(args.language)
        print(f"{lesson.name:<14} {_count(len(lesson.steps), 'step'):<8} "
              f"{_count(len(lesson.questions), 'question'):<12} {title}")
    return 0


def cmd_lessons_check(args, session):
    for path in args.files:
        lesson = lessons.load(path)         # a PackError is reported as one line
        print(f"OK   {path}: lesson {lesson.name!r}, {_count(len(lesson.steps), 'step')}, "
              f"{_count(len(lesson.questions), 'question')}, "
              f"{_count(len(lesson.values), 'computed value')}")
    return 0


def cmd_class_report(args, session):
    from ..lessons import classroom

    out = classroom.write_class_report(args.folder, args.output)
    print(f"wrote {out}")
    return 0


def add_parsers(commands):
    p = commands.add_parser("lessons", help="list the built-in lessons or check a lesson pack",
                            description="The guided lessons of cyconv lab: list the built-in "
                                        "ones, or check a pack a teacher wrote "
                                        "(see docs/lessons.md for the format).")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    q = actions.add_parser("list", help="one built-in lesson a line, its name first",
                           description="Print every built-in lesson: name, steps, questions, title.")
    q.add_argument("--language", choices=("en", "ko"), default="en", help="language of the titles")
    q.set_defaults(handler=cmd_lessons_list)
    q = actions.add_parser("check", help="validate lesson pack files",
                           description="Load each pack, compute its worked numbers with the "
                                       "engine and check every key; the first mistake is "
                                       "reported with the file, the key or line, and what is "
                                       "expected (exit code 1).")
    q.add_argument("files", nargs="+", metavar="FILE", help="a .toml or .json lesson pack")
    q.set_defaults(handler=cmd_lessons_check)
    q = commands.add_parser("class-report", help="merge a class's lab reports into one page",
                            description="Read every student report (*.html written by cyconv "
                                        "lab) in FOLDER and write one page for the teacher: who "
                                        "finished, each question's share of right answers, the "
                                        "spread of accuracies and the most common confusions.")
    q.add_argument("folder", metavar="FOLDER", help="the folder with the students' reports")
    q.add_argument("-o", "--output", metavar="FILE",
                   help="where to write the page (default: FOLDER/class-report.html)")
    q.set_defaults(handler=cmd_class_report)
