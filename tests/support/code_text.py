"""Comparing generated code with its line breaks taken out: the rewrite wraps long lines at the
project's line length, and a test about what a call says should not depend on where it wraps."""
import re


def flat(code: str) -> str:
    """`code` on one line: whitespace runs as one space, none inside brackets, no trailing comma
    before a closing bracket (the one a wrapped call gets)."""
    text = " ".join(code.split())
    text = re.sub(r"([(\[{]) ", r"\1", text)
    return re.sub(r",? ([)\]}])", r"\1", text)
