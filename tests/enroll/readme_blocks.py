#!/usr/bin/env python3
"""Prints the code blocks of one README section, in order, for a test to run them verbatim.

Usage: readme_blocks.py README.md TITLE [MIN [FIRST]]
TITLE is the section's heading line as written ("### Renewal on the same token"); the section ends
at the next "## " or "### " heading, so subsections others add are not part of it. Prints the
blocks from the FIRST-th on (default 0: all). Fails (exit 1) when the section is missing or has
fewer than MIN (default 1) blocks.
"""
import re
import sys


def main():
    readme_path, title = sys.argv[1], sys.argv[2]
    least = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    readme = open(readme_path, encoding="utf-8").read()
    start = readme.find(title + "\n")
    if start < 0:
        sys.exit(f"README.md has no section '{title}'")
    ends = [i for i in (readme.find("\n## ", start + 1), readme.find("\n### ", start + 1)) if i >= 0]
    end = min(ends) if ends else len(readme)
    blocks = re.findall(r"^```\n(.*?)^```", readme[start:end], re.S | re.M)
    if len(blocks) < least:
        sys.exit(f"expected {least} or more code blocks in '{title}', found {len(blocks)}")
    for b in blocks[first:]:
        print(b)


if __name__ == "__main__":
    main()
