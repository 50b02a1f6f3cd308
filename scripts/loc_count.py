"""Code lines added and removed by commits: Python files under a folder, blank and comment lines
not counted (docstrings are counted; ``--no-docstrings`` leaves them out too).

Each changed file is read before and after the commit (renames followed), reduced to its code
lines (found with ``tokenize``, stripped), and the two lists are diffed: a line moved within a
file counts once removed and once added, a file renamed unchanged counts nothing.

    .venv/bin/python scripts/loc_count.py 763df4f f63e40f 796d6c7..HEAD
    .venv/bin/python scripts/loc_count.py --under edgederain/ --per-commit 796d6c7..HEAD
"""

from __future__ import annotations

import argparse
import difflib
import io
import subprocess
import tokenize

SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
        tokenize.ENCODING, tokenize.ENDMARKER}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


def commits(specs: list[str]) -> list[str]:
    """Each spec is a commit or an ``A..B`` range (oldest first); duplicates dropped."""
    out: list[str] = []
    for spec in specs:
        found = git("rev-list", "--reverse", "--no-merges", spec).split() if ".." in spec else [
            git("rev-parse", "--verify", f"{spec}^{{commit}}").strip()]
        out += [c for c in found if c not in out]
    return out


def code_lines(source: str, *, docstrings: bool = True) -> list[str]:
    """The stripped non-blank lines holding something other than comments (and docstrings)."""
    lines = source.splitlines()
    rows: set[int] = set()
    previous = tokenize.NEWLINE
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in SKIP:  # a bare string after a statement's end is a docstring
                previous = previous if tok.type in (tokenize.COMMENT, tokenize.NL) else tok.type
                continue
            is_docstring = tok.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.INDENT,
                                                                        tokenize.DEDENT)
            previous = tok.type
            if docstrings or not is_docstring:
                rows.update(range(tok.start[0], tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):  # not valid Python: every non-blank line counts
        rows = set(range(1, len(lines) + 1))
    return [lines[r - 1].strip() for r in sorted(rows) if r <= len(lines) and lines[r - 1].strip()]


def blob(commit: str, path: str | None) -> str:
    return "" if path is None else git("show", f"{commit}:{path}")


def changed_files(commit: str, under: str) -> list[tuple[str | None, str | None]]:
    """(path before, path after) of each Python file under ``under`` the commit changed."""
    out = []
    raw = git("diff-tree", "-r", "-M", "--no-commit-id", "--name-status", "--root", commit)
    for line in raw.splitlines():
        status, *paths = line.split("\t")
        before, after = (paths[0], paths[-1]) if status[0] in "RC" else (paths[0], paths[0])
        before, after = (None if status[0] == "A" else before), (None if status[0] == "D" else after)
        if any(p and p.startswith(under) and p.endswith(".py") for p in (before, after)):
            out.append((before, after))
    return out


def count(commit: str, under: str, *, docstrings: bool = True) -> tuple[int, int]:
    """(code lines added, code lines removed) by one commit."""
    parent = f"{commit}^" if git("rev-list", "--parents", "-n1", commit).split()[1:] else None
    added = removed = 0
    for before, after in changed_files(commit, under):
        old = code_lines(blob(parent, before), docstrings=docstrings) if parent and before else []
        new = code_lines(blob(commit, after), docstrings=docstrings)
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if op != "equal":
                removed += i2 - i1
                added += j2 - j1
    return added, removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revisions", nargs="+", help="commits and A..B ranges")
    parser.add_argument("--under", default="edgederain/", help="path prefix of the files counted")
    parser.add_argument("--no-docstrings", action="store_true", help="leave docstring lines out too")
    parser.add_argument("--per-commit", action="store_true", help="one line per commit")
    args = parser.parse_args()
    total_added = total_removed = 0
    for c in commits(args.revisions):
        added, removed = count(c, args.under, docstrings=not args.no_docstrings)
        total_added, total_removed = total_added + added, total_removed + removed
        if args.per_commit:
            print(f"{c[:7]}  +{added:<5} -{removed:<5} {git('log', '-1', '--format=%s', c).strip()[:70]}")
    print(f"total: {total_added} code lines added, {total_removed} removed, "
          f"net {total_added - total_removed:+d} (under {args.under})")


if __name__ == "__main__":
    main()
