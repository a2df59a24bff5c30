"""``cyconv data list|import|verify``: where datasets are, copying files in, checksums."""
from .. import data
from ._common import Parser

__all__ = ["add_parser"]


def cmd_data_list(args, session):
    for row in data.available():
        print(f"{row.name:<14} {row.location or 'not available'}")
        print(f"{'':<14} {row.note}")
    return 0


def cmd_data_import(args, session):
    target = data.import_files(args.path, name=args.name)
    print(f"imported {args.path} into {target}")
    return 0


def cmd_data_verify(args, session):
    rows = data.verify(args.name)
    if not rows:
        print("no dataset files found to verify")
        return 0
    for row in rows:
        print(f"{'OK' if row.ok else 'FAIL':<4} {row.name:<14} {row.file or '-'}: {row.message}")
    return 0 if all(row.ok for row in rows) else 1


def add_parser(commands):
    p = commands.add_parser("data", help="list, import or verify datasets",
                            description="Where each dataset is found, copying dataset files "
                                        "into the user cache, and checking their checksums.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True,
                               parser_class=Parser)
    q = actions.add_parser("list", help="show where each dataset is found (offline)",
                           description="Show every dataset and where it is found, without "
                                       "downloading anything.")
    q.set_defaults(handler=cmd_data_list)
    q = actions.add_parser("import", help="copy dataset files into the user cache",
                           description="Copy MNIST, Fashion-MNIST or CIFAR-10 files from a "
                                       "folder (or the CIFAR-10 archive) into the user cache, "
                                       "checking them first; all or nothing.")
    q.add_argument("path", metavar="PATH", help="folder with the files, or the CIFAR-10 archive")
    q.add_argument("--name", choices=("mnist", "fashion_mnist", "cifar10"),
                   help="which dataset the files are (default: detected from the files)")
    q.set_defaults(handler=cmd_data_import)
    q = actions.add_parser("verify", help="check dataset files against published checksums",
                           description="Check the files of every dataset found (or of NAME) "
                                       "against the published MD5 sums; exit code 1 if any "
                                       "fails.")
    q.add_argument("name", nargs="?", choices=("mnist", "fashion_mnist", "cifar10"),
                   metavar="NAME", help="mnist, fashion_mnist or cifar10 (default: all found)")
    q.set_defaults(handler=cmd_data_verify)
