#!/usr/bin/python3
"""Every rule code the sources cite must be defined in docs/wsk-contract.md.

    rule_codes.py CONTRACT DIR...     scan DIR... (recursively); exit 1 listing the codes
                                      not defined in CONTRACT, with where they are cited
    rule_codes.py --self-test         check the scanner itself on a tree it writes

A test named "(WSK-C3)" or a comment saying "(F4, F7)" sends its reader to the contract; a
code the contract does not define sends them nowhere. Codes are R, F, C or W and a number,
bare or written WSK-C3; sections are written with a section sign and a number.

One exception: a bare C89, C99, C11, C17 or C23 is the C language standard (DPDK's "C11
ring"), not a rule; with the WSK- prefix it is a rule code again and must be defined.
"""
import os
import re
import sys
import tempfile

# A code stands alone: not part of a longer word ("IRP2", "0xC2") or a longer number.
CITED = re.compile(r"(?<![\w-])(WSK-)?([RFCW][0-9]{1,3})(?![\w])")
SECTION = re.compile("\u00a7 ?([0-9]+)")
C_STANDARDS = {"C89", "C99", "C11", "C17", "C23"}

# The contract defines a rule as a list item starting with its code in bold, and a section
# as a heading starting with the section sign.
DEFINED = re.compile(r"^- \*\*([RFCW][0-9]+)\b", re.M)
DEFINED_SECTION = re.compile("^#+ \u00a7([0-9]+)\\b", re.M)


def defined(contract):
    text = open(contract, encoding="utf-8").read()
    return set(DEFINED.findall(text)), set(DEFINED_SECTION.findall(text))


def text_files(top):
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                data = f.read()
            if b"\0" in data:   # fuzz inputs and other binaries cite nothing
                continue
            yield path, data.decode("utf-8", errors="replace")


def citations(tops):
    """(code, "path:line") for every code and section cited under tops."""
    for top in tops:
        for path, text in text_files(top):
            for n, line in enumerate(text.splitlines(), 1):
                for prefix, code in CITED.findall(line):
                    if not prefix and code in C_STANDARDS:
                        continue
                    yield code, "%s:%d" % (path, n)
                for num in SECTION.findall(line):
                    yield "\u00a7" + num, "%s:%d" % (path, n)


def check(contract, tops, out):
    """Prints the undefined codes to out; returns (codes cited, undefined ones)."""
    rules, sections = defined(contract)
    cited, missing = set(), {}
    for code, where in citations(tops):
        cited.add(code)
        known = code[1:] in sections if code.startswith("\u00a7") else code in rules
        if not known:
            missing.setdefault(code, []).append(where)
    for code in sorted(missing):
        places = missing[code]
        out.write("%s is cited but not defined in %s: %s%s\n"
                  % (code, contract, ", ".join(places[:5]),
                     " and %d more" % (len(places) - 5) if len(places) > 5 else ""))
    return cited, set(missing)


def self_test():
    """The scanner on a tree with known answers. The codes are put together at run time so
    that this file, which the real scan reads too, cites none of them."""
    undefined_rule, undefined_section = "C" + "42", "\u00a7" + "9"
    with tempfile.TemporaryDirectory() as d:
        contract = os.path.join(d, "contract.md")
        with open(contract, "w", encoding="utf-8") as f:
            f.write("## \u00a71 Objects\n\n- **R1 One.** text\n- **C2 Two.** text\n")
        src = os.path.join(d, "src")
        os.mkdir(src)
        with open(os.path.join(src, "a.c"), "w", encoding="utf-8") as f:
            f.write("/* R1, WSK-C2, \u00a71 */\n/* IRP2 0xC2 C11-style atomics */\n"
                    "/* (%s) and %s */\n" % (undefined_rule, undefined_section))
        with open(os.path.join(src, "blob"), "wb") as f:
            f.write(b"\0R" + b"77")
        cited, missing = check(contract, [src], sys.stdout)
    want_cited = {"R1", "C2", "\u00a71", undefined_rule, undefined_section}
    ok = cited == want_cited and missing == {undefined_rule, undefined_section}
    print("self-test: cited %s, undefined %s: %s"
          % (sorted(cited), sorted(missing), "as expected" if ok else "WRONG"))
    return 0 if ok else 1


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cited, missing = check(argv[1], argv[2:], sys.stdout)
    # Nothing cited at all means the scan read the wrong place, not that all is well.
    if not cited:
        print("no rule code cited under %s: wrong directories?" % " ".join(argv[2:]))
        return 1
    print("%d distinct codes cited, %d not defined" % (len(cited), len(missing)))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
